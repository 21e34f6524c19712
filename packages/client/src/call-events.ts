import { z } from 'zod';
import type { CallView } from '../../../shared/protocol/call-view.js';
import type { Progress } from '../../../shared/protocol/call-outcome.js';
import { callStatusSchema } from '../../../shared/protocol/domain.js';
import { issuesText } from '../../../shared/protocol/issues-text.js';
import { ClientErrorCode, FerryError, connectionCause } from './errors.js';
import { readSse, type SseMessage } from './sse.js';

export interface ProgressData {
  attempt: number;
  executionId: string;
  progress?: Progress;
  metrics?: Record<string, number>;
}

export interface LogData {
  attempt: number;
  executionId: string;
  line: string;
}

/** The call's state: first on connect, then on every status change. */
export interface CallStateEvent {
  event: 'call';
  data: CallView;
}

export interface ProgressEvent {
  event: 'progress';
  data: ProgressData;
}

/** A line the function logged with ctx.log while running. */
export interface LogEvent {
  event: 'log';
  data: LogData;
}

/** The call as it ended; the stream ends after it. */
export interface EndEvent {
  event: 'end';
  data: CallView;
}

/** An event of `GET /v1/calls/:id/events`. */
export type CallEvent = CallStateEvent | ProgressEvent | LogEvent | EndEvent;

// Only the fields a reader relies on are checked; the rest of a call passes through untouched.
const progress = z.union([z.number(), z.record(z.string(), z.unknown())]);
const metrics = z.record(z.string(), z.number());
const callSchema = z.looseObject({
  id: z.string(),
  callNum: z.number(),
  funcName: z.string(),
  version: z.number(),
  status: callStatusSchema,
  result: z.string(),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
  attempt: z.number(),
  workerId: z.string().nullable(),
  progress: progress.nullable(),
  metrics: metrics.nullable(),
  logs: z.looseObject({ stdout: z.string(), stderr: z.string(), log: z.string().optional() }).nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});
const progressSchema = z.looseObject({ attempt: z.number(), executionId: z.string(), progress: progress.optional(), metrics: metrics.optional() });
const logSchema = z.looseObject({ attempt: z.number(), executionId: z.string(), line: z.string() });

const badEvent = (message: string): FerryError => new FerryError(ClientErrorCode.BAD_REPLY, 200, message);

/**
 * The data of `msg`, checked against `schema`. The parsed JSON itself is handed on (not zod's
 * copy), so a caller printing it prints what the cluster sent, unknown fields and key order included.
 */
function checked<T>(schema: z.ZodType, msg: SseMessage): T {
  let data: unknown;
  try {
    data = JSON.parse(msg.data);
  } catch {
    throw badEvent(`the cluster sent a "${msg.event}" event that is not JSON: ${msg.data.slice(0, 120)}`);
  }
  const ok = schema.safeParse(data);
  if (!ok.success) throw badEvent(`the cluster sent a "${msg.event}" event that does not read (${issuesText(ok.error, 'data')})`);
  return data as T;
}

/** A typed event, or null for an event name this client does not know (a newer cluster's; skipped). */
function decode(msg: SseMessage): CallEvent | null {
  switch (msg.event) {
    case 'call':
    case 'end':
      return { event: msg.event, data: checked<CallView>(callSchema, msg) };
    case 'progress':
      return { event: 'progress', data: checked<ProgressData>(progressSchema, msg) };
    case 'log':
      return { event: 'log', data: checked<LogData>(logSchema, msg) };
    default:
      return null;
  }
}

const streamClosed = (ref: string, err?: unknown): FerryError =>
  new FerryError(
    ClientErrorCode.STREAM_CLOSED,
    0,
    `the event stream of call ${ref} closed before the call ended${err === undefined ? '' : ` (${connectionCause(err)})`}`,
    err === undefined ? {} : { cause: err },
  );

/**
 * The typed events of an event stream's body, up to and with `end`.
 * @throws FerryError BAD_REPLY for an event that does not read, STREAM_CLOSED when the body ends
 *   or fails before `end`
 */
export async function* callEventsOf(body: AsyncIterable<Uint8Array>, ref: string): AsyncGenerator<CallEvent> {
  try {
    for await (const msg of readSse(body)) {
      const event = decode(msg);
      if (event === null) continue;
      yield event;
      if (event.event === 'end') return;
    }
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw streamClosed(ref, err);
  }
  throw streamClosed(ref);
}
