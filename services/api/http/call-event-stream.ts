import type { Request, Response } from 'express';
import type { Call } from '../../../shared/protocol/domain.js';
import type { CallEvent } from '../calls/call-events.js';
import { isFinal } from '../calls/transitions.js';
import { callView } from './call-view.js';
import type { ApiDeps } from './deps.js';
import { keepAlive, openEventStream } from './event-stream.js';

/**
 * `GET /v1/calls/:id/events`: Server-Sent Events until the call ends, then the stream closes.
 * `call` (the whole call) first and at every change of status, `progress` and `log` as they come
 * from inside the running execution, `end` (the final call) last. A client that connects late
 * gets the current state first; one that connects after the end gets `call` and `end` at once.
 */
export async function streamCallEvents(deps: ApiDeps, req: Request, res: Response, call: Call): Promise<void> {
  // Listen before reading the call again, so no change falls between the read and the listening.
  const early: CallEvent[] = [];
  let send: (event: CallEvent) => void = (event) => early.push(event);
  const stop = deps.scheduler.calls.events.subscribe(call.id, (event) => send(event));
  let keepAliveTimer: NodeJS.Timeout | undefined;
  const close = (): void => {
    stop();
    clearInterval(keepAliveTimer);
    res.end();
  };
  req.on('close', close);

  let current: Call;
  try {
    current = await deps.db.call('getCall', { id: call.id });
  } catch (err) {
    stop();
    throw err;
  }
  const write = openEventStream(res);
  write('call', callView(current));
  if (isFinal(current.status)) {
    write('end', callView(current));
    return close();
  }
  send = (event) => {
    switch (event.type) {
      case 'status':
        write('call', callView(event.call));
        if (isFinal(event.call.status)) {
          write('end', callView(event.call));
          close();
        }
        return;
      case 'progress': {
        const { type: _type, callId: _callId, ...data } = event;
        write('progress', data);
        return;
      }
      case 'log': {
        const { type: _type, callId: _callId, ...data } = event;
        write('log', data);
        return;
      }
    }
  };
  for (const event of early.splice(0)) send(event);
  keepAliveTimer = keepAlive(res);
}
