import type { Response } from 'express';

/** A comment line this often keeps proxies and idle-timeouts from closing a quiet stream. */
export const KEEP_ALIVE_MS = 15_000;

/** Answers 200 with an event stream; the way to write one event `name` with JSON `data`. */
export function openEventStream(res: Response): (name: string, data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (name, data) => {
    res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  };
}

/** Writes a keep-alive comment every {@link KEEP_ALIVE_MS}; clear the timer answered when the stream ends. */
export function keepAlive(res: Response): NodeJS.Timeout {
  return setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
}
