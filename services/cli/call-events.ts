import { z } from 'zod';
import type { Progress } from '../../shared/protocol/call-outcome.js';
import { callStatusSchema, type Call, type CallLogs } from '../../shared/protocol/domain.js';
import { issuesText } from '../../shared/protocol/issues-text.js';
import { unreachable, type ApiClient } from './api-client.js';
import { callPath } from './call-view.js';
import { CliError } from './cli-error.js';
import { readSse, type SseMessage } from './sse-stream.js';

export type { Progress };

/** A finished call's output; `log` holds its ctx.log lines, one per line. */
export type StoredLogs = CallLogs;

/** A call as the events route sends it. */
export type CallRecord = Call;

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
  data: CallRecord;
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

/** The final record; the stream ends after it. */
export interface EndEvent {
  event: 'end';
  data: CallRecord;
}

export type CallEvent = CallStateEvent | ProgressEvent | LogEvent | EndEvent;

// Only the fields the CLI reads are checked; the rest of a record passes through untouched.
const progress = z.union([z.number(), z.record(z.string(), z.unknown())]);
const metrics = z.record(z.string(), z.number());
const callRecord = z.looseObject({
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
const progressData = z.looseObject({ attempt: z.number(), executionId: z.string(), progress: progress.optional(), metrics: metrics.optional() });
const logData = z.looseObject({ attempt: z.number(), executionId: z.string(), line: z.string() });

/**
 * The data of `msg`, checked against `schema`. The parsed JSON itself is handed on (not zod's
 * copy), so `--json` prints what the cluster sent, unknown fields and key order included.
 */
function checked<T>(schema: z.ZodType, msg: SseMessage): T {
  let data: unknown;
  try {
    data = JSON.parse(msg.data);
  } catch {
    throw new CliError(`the cluster sent a "${msg.event}" event that is not JSON: ${msg.data.slice(0, 120)}`);
  }
  const ok = schema.safeParse(data);
  if (!ok.success) throw new CliError(`the cluster sent a "${msg.event}" event this CLI cannot read (${issuesText(ok.error, 'data')})`);
  return data as T;
}

/** A typed event, or null for an event name this CLI does not know (a newer cluster's; skipped). */
function decode(msg: SseMessage): CallEvent | null {
  switch (msg.event) {
    case 'call':
    case 'end':
      return { event: msg.event, data: checked<CallRecord>(callRecord, msg) };
    case 'progress':
      return { event: 'progress', data: checked<ProgressData>(progressData, msg) };
    case 'log':
      return { event: 'log', data: checked<LogData>(logData, msg) };
    default:
      return null;
  }
}

/** The call exists but the cluster has no events route: its api is older than this CLI. */
export class NoEventStream extends CliError {
  constructor(base: string) {
    super(`the cluster at ${base} does not stream call events (GET /v1/calls/:id/events): its api is older than this CLI`);
    this.name = 'NoEventStream';
  }
}

function streamLost(ref: string, err?: unknown): CliError {
  const cause = err === undefined ? '' : ` (${(err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : String(err))})`;
  return new CliError(`the cluster closed the event stream of call ${ref} before the call ended${cause}: is its api still up? \`ferry call ${ref}\` shows where the call got to`);
}

/**
 * The events of call `ref` (id or callNum) from `GET /v1/calls/:ref/events`: `call` first, then
 * `call`, `progress` and `log` as they happen, and `end` last, after which the iteration finishes.
 * Stopping early closes the stream.
 *
 * @throws CliError when the cluster cannot be reached, answers with an error (`NOT_FOUND: …` for
 *   an unknown call), sends an event that does not read, or closes the stream before `end` (the
 *   cluster went away); {@link NoEventStream} when the call exists but the route does not.
 */
export async function* callEvents(api: ApiClient, ref: string): AsyncGenerator<CallEvent> {
  let res: Response;
  try {
    res = await fetch(`${api.base}${callPath(ref)}/events`, { headers: api.headers({ accept: 'text/event-stream' }) });
  } catch (err) {
    throw unreachable(api.base, err);
  }
  if (!res.ok) {
    const text = await res.text();
    // A 404 names an unknown call, or an api without the route: the call's own route tells which.
    if (res.status === 404) {
      await api.get(callPath(ref));
      throw new NoEventStream(api.base);
    }
    throw api.error(res.status, text);
  }
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream') || res.body === null) {
    await res.body?.cancel();
    throw new CliError(`the cluster answered GET ${callPath(ref)}/events with ${type || 'no content type'}, not an event stream`);
  }
  try {
    for await (const msg of readSse(res.body)) {
      const event = decode(msg);
      if (event === null) continue;
      yield event;
      if (event.event === 'end') return;
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw streamLost(ref, err);
  }
  throw streamLost(ref);
}

/**
 * Hands every event of call `ref` to `onEvent` and resolves with the final record (`end`'s).
 * @throws what {@link callEvents} throws.
 */
export async function followCall(api: ApiClient, ref: string, onEvent: (event: CallEvent) => void): Promise<CallRecord> {
  for await (const event of callEvents(api, ref)) {
    onEvent(event);
    if (event.event === 'end') return event.data;
  }
  // callEvents finishes only after `end`; anything else is thrown.
  throw streamLost(ref);
}

/** An event as one JSON line, `{"event":"progress",…data}`, for `--json`. */
export const eventJson = (e: CallEvent): string => JSON.stringify({ event: e.event, ...e.data });
