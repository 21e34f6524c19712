import { ClientErrorCode, connectionCause, FerryError, type CallEvent } from '../../packages/client/src/index.js';
import type { CallView } from '../../shared/protocol/call-view.js';
import type { ApiClient } from './api-client.js';
import { CliError } from './cli-error.js';

/** The call exists but the cluster has no events route: its api is older than this CLI. */
export class NoEventStream extends CliError {
  constructor(base: string) {
    super(`the cluster at ${base} does not stream call events (GET /v1/calls/:id/events): its api is older than this CLI`);
    this.name = 'NoEventStream';
  }
}

function streamLost(ref: string, err?: unknown): CliError {
  const cause = err === undefined ? '' : ` (${connectionCause(err)})`;
  return new CliError(`the cluster closed the event stream of call ${ref} before the call ended${cause}: is its api still up? \`ferry call ${ref}\` shows where the call got to`);
}

/** A failure of the event stream in terms of this CLI: an api without the route, a stream lost. */
async function explained(api: ApiClient, ref: string, err: unknown): Promise<unknown> {
  const cause = err instanceof CliError ? err.cause : undefined;
  if (!(cause instanceof FerryError)) return err;
  // A 404 names an unknown call, or an api without the route: the call's own route tells which.
  if (cause.status === 404) {
    await api.getCall(ref);
    return new NoEventStream(api.url);
  }
  if (cause.code === ClientErrorCode.STREAM_CLOSED) return streamLost(ref, cause.cause);
  return err;
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
  try {
    yield* api.streamCallEvents(ref);
  } catch (err) {
    throw await explained(api, ref, err);
  }
}

/**
 * Hands every event of call `ref` to `onEvent` and resolves with the final call (`end`'s).
 * @throws what {@link callEvents} throws.
 */
export async function followCall(api: ApiClient, ref: string, onEvent: (event: CallEvent) => void): Promise<CallView> {
  for await (const event of callEvents(api, ref)) {
    onEvent(event);
    if (event.event === 'end') return event.data;
  }
  // callEvents finishes only after `end`; anything else is thrown.
  throw streamLost(ref);
}

/** An event as one JSON line, `{"event":"progress",…data}`, for `--json`. */
export const eventJson = (e: CallEvent): string => JSON.stringify({ event: e.event, ...e.data });
