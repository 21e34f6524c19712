import { withAuth } from './http.js';

/** One Server-Sent Event: its name and its data parsed as JSON. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads an event stream until the server closes it, calling `onEvent` for each event as it
 * arrives (comment lines are skipped). Resolves with every event, in order.
 */
export async function readEvents(url: string, onEvent: (e: SseEvent) => void = () => undefined): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(url, { headers: withAuth(url, { accept: 'text/event-stream' }) });
  const events: SseEvent[] = [];
  if (!res.ok || !res.body) return { status: res.status, events };
  const decoder = new TextDecoder();
  let buffer = '';
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
  return { status: res.status, events };
}
