import { withAuth } from './http.js';

/** One Server-Sent Event: its name and its data parsed as JSON. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** How to read a stream: headers of the request (see {@link withAuth}), when to stop, what to do once it is open. */
export interface ReadOptions {
  headers?: Record<string, string>;
  /** Aborting it stops the reading: the events so far are answered (a stream that never ends, such as /v1/events). */
  signal?: AbortSignal;
  /** Called once the server answered the request with its status and headers. */
  onOpen?: (status: number) => void;
}

/**
 * Reads an event stream until the server closes it (or `options.signal` aborts), calling
 * `onEvent` for each event as it arrives (comment lines are skipped). Resolves with every event,
 * in order.
 */
export async function readEvents(
  url: string,
  onEvent: (e: SseEvent) => void = () => undefined,
  options: ReadOptions = {},
): Promise<{ status: number; events: SseEvent[] }> {
  const events: SseEvent[] = [];
  let res: Response;
  try {
    res = await fetch(url, { headers: withAuth(url, { accept: 'text/event-stream', ...options.headers }), signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) return { status: 0, events };
    throw err;
  }
  options.onOpen?.(res.status);
  if (!res.ok || !res.body) return { status: res.status, events };
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        const e = { event: name, data: JSON.parse(data.join('\n')) as unknown };
        events.push(e);
        onEvent(e);
      }
    }
  } catch (err) {
    if (!options.signal?.aborted) throw err;
  }
  return { status: res.status, events };
}
