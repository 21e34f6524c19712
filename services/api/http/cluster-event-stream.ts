import type { Response } from 'express';
import type { Progress } from '../../../shared/protocol/call-outcome.js';
import { isFinal } from '../calls/transitions.js';
import { callSummary } from '../../../shared/protocol/cluster-view.js';
import type { ApiDeps } from './deps.js';
import { keepAlive, openEventStream } from './event-stream.js';

/** Progress of a call is sent at most this often: the latest of each call, every tick. */
export const PROGRESS_EVERY_MS = 250;
/**
 * A client that leaves this much written and unread is dropped (the stream ends): the server
 * never holds more for one slow reader. It reconnects and reads the lists again.
 */
export const MAX_UNSENT_BYTES = 1024 * 1024;

/**
 * `GET /v1/events`: Server-Sent Events of every call of the cluster, until the client goes. `call`
 * (a {@link callSummary}) when a call is made and at each change of its status; `progress`
 * (`{ id, progress }`) coalesced, the latest of each running call every {@link PROGRESS_EVERY_MS}
 * (and an ended call's latest before its end, so the last progress of a call is never lost).
 * With `funcName`, only that function's calls. A comment opens the stream, so a client knows
 * from its first bytes that every change after them reaches it.
 */
export function streamClusterEvents(deps: ApiDeps, res: Response, funcName: string | undefined): void {
  const calls = deps.scheduler.calls;
  const pending = new Map<string, Progress>();
  let flushTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const wanted = (fn: string | undefined): boolean => funcName === undefined || fn === funcName;

  const write = openEventStream(res);
  const send = (name: string, data: unknown): void => {
    if (closed) return;
    write(name, data);
    if (res.writableLength > MAX_UNSENT_BYTES) {
      deps.log.warn({ unsentBytes: res.writableLength }, 'event stream client too slow: dropped');
      close();
      res.destroy();
    }
  };
  const sendProgress = (id: string): void => {
    const progress = pending.get(id);
    if (progress === undefined) return;
    pending.delete(id);
    send('progress', { id, progress });
  };
  const flush = (): void => {
    flushTimer = undefined;
    for (const id of [...pending.keys()]) sendProgress(id);
  };
  const stop = calls.events.subscribeAll((event) => {
    switch (event.type) {
      case 'status':
        if (!wanted(event.call.funcName)) return;
        // An ended call's summary is its last word: its latest progress, still waiting, goes first.
        if (isFinal(event.call.status)) sendProgress(event.call.id);
        send('call', callSummary(event.call));
        return;
      case 'progress':
        if (event.progress === undefined || (funcName !== undefined && !wanted(calls.funcNameOf(event.callId)))) return;
        pending.set(event.callId, event.progress);
        flushTimer ??= setTimeout(flush, PROGRESS_EVERY_MS);
        return;
      case 'log':
        return;
    }
  });
  const timer = keepAlive(res);
  function close(): void {
    if (closed) return;
    closed = true;
    stop();
    clearInterval(timer);
    clearTimeout(flushTimer);
    pending.clear();
    res.end();
  }
  // The response's close: the client went (or it was dropped); the request's own ends with its body.
  res.on('close', close);
  res.write(': connected\n\n');
}
