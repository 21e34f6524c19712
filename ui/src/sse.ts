import { authHeaders } from './api';

export interface SseMessage {
  event: string;
  data: unknown;
}

export interface StreamHandlers {
  /** The server answered and the stream is open: from now on no event is missed. */
  onOpen?: () => void;
  onMessage: (m: SseMessage) => void;
  /** The server closed the stream, or it failed (with the error); never after `stop()`. */
  onEnd?: (err: Error | null) => void;
}

/**
 * Reads a Server-Sent Events stream with fetch, since EventSource cannot send the API key. Each
 * event's data is parsed as JSON. Returns `stop`.
 */
export function streamEvents(path: string, { onOpen, onMessage, onEnd = () => {} }: StreamHandlers): () => void {
  const abort = new AbortController();
  const run = async (): Promise<void> => {
    const res = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`${path} answered ${res.status}`);
    onOpen?.();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const message = parseBlock(block);
        if (message) onMessage(message);
      }
    }
  };
  run().then(
    () => !abort.signal.aborted && onEnd(null),
    (err: Error) => !abort.signal.aborted && onEnd(err),
  );
  return () => abort.abort();
}

/** One event block: `event:` and `data:` lines; comment lines (keep-alives) are none. */
function parseBlock(block: string): SseMessage | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return null;
  const text = data.join('\n');
  try {
    return { event, data: JSON.parse(text) as unknown };
  } catch {
    return { event, data: text };
  }
}
