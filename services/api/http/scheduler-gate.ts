import { request as httpRequest, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { errorReply } from './errors.js';

/** Set on a request one api passes to another: never passed on twice (two apis that each think the other schedules). */
const VIA = 'x-ferry-via';

/** Routes every api answers itself, scheduling or not: is it up, what does it measure. */
const OWN = /^\/(healthz|metrics)(\?|$)/;

/**
 * Reads any api answers from the store alone (through its own db daemon): calls, their executions
 * and logs, dead letters, the catalog. Not a call's live events, which only the scheduler has.
 */
const FROM_THE_STORE = [
  /^\/v1\/calls(\/[^/?]+(\/(executions|logs))?)?(\?|$)/,
  /^\/v1\/dead-letters(\?|$)/,
  /^\/v1\/runtimes(\/[^/?]+)?(\?|$)/,
  /^\/v1\/functions(\/[^/?]+(\/versions)?)?(\?|$)/,
  /^\/(runtimes|functions|calls|call\/[^/?]+)(\?|$)/,
];

/** Names, on an answer a standby passed on, the api that gave it. */
export const PASSED_ON_HEADER = 'x-ferry-passed-on';

const answeredHere = (req: IncomingMessage): boolean => {
  const url = req.url ?? '';
  return OWN.test(url) || ((req.method === 'GET' || req.method === 'HEAD') && FROM_THE_STORE.some((route) => route.test(url)));
};

export interface SchedulerGateOptions {
  /** Whether this api schedules and has taken over the calls (it answers everything itself). */
  scheduling: () => boolean;
  /** Settles once this api knows whether it schedules (its first lease answer and, when it does, the take-over). */
  settled: () => Promise<void>;
  /** The scheduling api's URL when another api schedules. */
  schedulerUrl: () => string | null;
  log: Logger;
}

function answerError(res: ServerResponse, err: FerryError): void {
  const reply = errorReply(err);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
  res.end(JSON.stringify(reply.body));
}

/**
 * The front of an api daemon: the scheduling api answers every request itself; a standby answers
 * its health, its metrics and the reads the store alone answers, and passes every other request,
 * body and answer streamed as they come, to the scheduling api (new calls, their waits and event
 * streams live there), naming it on the answer. While no api
 * schedules (one died, its lease not yet expired) a standby answers 503 UNAVAILABLE with a
 * Retry-After: a client tries again, and the standby that took over answers.
 */
export function schedulerGate(serve: RequestListener, opts: SchedulerGateOptions): RequestListener {
  const passOn = (req: IncomingMessage, res: ServerResponse): void => {
    const target = opts.schedulerUrl();
    if (target === null || req.headers[VIA] !== undefined) {
      answerError(res, new FerryError(ErrorCode.UNAVAILABLE, 'no api schedules at the moment (the scheduling api is being replaced); try again in a second'));
      return;
    }
    const url = new URL(req.url ?? '/', target);
    const out = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host, [VIA]: '1' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, [PASSED_ON_HEADER]: target });
      answer.pipe(res);
    });
    out.on('error', (err) => {
      opts.log.warn({ err, target, path: url.pathname }, 'the scheduling api did not answer a request passed on');
      if (!res.headersSent) answerError(res, new FerryError(ErrorCode.UNAVAILABLE, `the scheduling api at ${target} did not answer; try again in a second`));
      else res.destroy();
    });
    // The client went away (a closed event stream, say): so does the request passed on.
    res.on('close', () => out.destroy());
    req.pipe(out);
  };
  return (req, res) => {
    if (opts.scheduling() || answeredHere(req)) return serve(req, res);
    // The body waits unread in the meantime (a request starts paused until something reads it).
    void opts.settled().then(() => {
      if (opts.scheduling()) serve(req, res);
      else passOn(req, res);
    });
  };
}
