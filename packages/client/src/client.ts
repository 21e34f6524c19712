import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeyView, Whoami } from '../../../shared/protocol/api-key.js';
import type { BatchResult, BatchView } from '../../../shared/protocol/batch-view.js';
import type { Progress } from '../../../shared/protocol/call-outcome.js';
import type { CallView } from '../../../shared/protocol/call-view.js';
import type { CallSummary, ClusterStatsView } from '../../../shared/protocol/cluster-view.js';
import type { FunctionView, Runtime, RuntimeSpec } from '../../../shared/protocol/domain.js';
import type { HealthView } from '../../../shared/protocol/health-view.js';
import type { NodeView } from '../../../shared/protocol/node-view.js';
import type { RunDetail, RunView } from '../../../shared/protocol/run-view.js';
import type { SessionView } from '../../../shared/protocol/session-view.js';
import type { CallEvent } from './call-events.js';
import { answerError, ClientErrorCode, FerryError, unreachable } from './errors.js';
import { queryString, seg, type Query } from './http.js';
import { requestText, type TextAnswer } from './http-request.js';
import { formOf } from './push-form.js';
import { readSse } from './sse.js';
import type {
  ApiKeyCreated,
  BatchRequest,
  CallFilter,
  CallLogsView,
  CallPage,
  CallRef,
  ClusterEvent,
  ExecutionList,
  Invocation,
  InvokeOptions,
  KeyRequest,
  Page,
  PageQuery,
  PushFields,
  PushOptions,
  SessionResultPage,
} from './types.js';
import { postMultipart, type FormField } from './upload.js';

export interface FerryClientOptions {
  /** The cluster's HTTP address, such as `http://127.0.0.1:3000`. */
  url: string;
  /** An API key, sent as `Authorization: Bearer <token>`. Without one the cluster must run with auth off. */
  token?: string | undefined;
}

interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Error statuses whose JSON body is an answer, not an error (503 of /healthz). */
  answers?: readonly number[];
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/**
 * A typed client of a Ferry cluster's /v1 HTTP API: one method per route, named as the route's
 * operationId in /v1/openapi.json. Each resolves with the route's JSON answer.
 *
 * Every method throws a {@link FerryError} on failure: the server's error answer with its `code`
 * and `status` (NOT_FOUND, 404; QUEUE_FULL, 429; …), or one of the client's own codes
 * (UNREACHABLE, HTTP_ERROR, BAD_REPLY, STREAM_CLOSED) — or what a subclass's {@link failed} makes
 * of it.
 */
export class FerryClient {
  /** The cluster's address, without a trailing slash. */
  readonly url: string;
  private readonly token: string | undefined;

  constructor(options: FerryClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
  }

  /** Every error a method throws passes here first: a subclass may turn it into one of its own. */
  protected failed(err: FerryError): Error {
    return err;
  }

  /** `extra` and the API key's `Authorization` header, when there is a key. */
  protected headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === undefined ? extra : { ...extra, authorization: `Bearer ${this.token}` };
  }

  private async send(r: Request): Promise<Answer> {
    const json = r.body !== undefined;
    let res: TextAnswer;
    try {
      const headers = this.headers(json ? { ...r.headers, 'content-type': 'application/json' } : r.headers);
      res = await requestText(this.url + r.path + queryString(r.query), r.method, headers, json ? JSON.stringify(r.body) : undefined);
    } catch (err) {
      throw this.failed(unreachable(this.url, err));
    }
    const { status, text } = res;
    if ((status < 200 || status > 299) && !r.answers?.includes(status)) throw this.failed(answerError(status, text));
    try {
      return { status, headers: res.headers, body: JSON.parse(text) };
    } catch {
      throw this.failed(new FerryError(ClientErrorCode.BAD_REPLY, status, `the cluster answered ${r.method} ${r.path} with a body that is not JSON: ${text.slice(0, 120)}`));
    }
  }

  private async json<T>(method: Request['method'], path: string, body?: unknown, query?: Query): Promise<T> {
    return (await this.send({ method, path, ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}) })).body as T;
  }

  // ── cluster ──────────────────────────────────────────────────────────────────────────────────

  /** `GET /healthz` (no key needed): `status` is `degraded` (HTTP 503) when the db or the registry does not answer. */
  async health(): Promise<HealthView> {
    return (await this.send({ method: 'GET', path: '/healthz', answers: [503] })).body as HealthView;
  }

  /** `GET /v1/openapi.json` (no key needed): the OpenAPI 3 document of the API. */
  openapi(): Promise<Record<string, unknown>> {
    return this.json('GET', '/v1/openapi.json');
  }

  listNodes(): Promise<{ nodes: NodeView[] }> {
    return this.json('GET', '/v1/nodes');
  }

  getNode(nodeId: string): Promise<NodeView> {
    return this.json('GET', `/v1/nodes/${seg(nodeId)}`);
  }

  // ── keys ─────────────────────────────────────────────────────────────────────────────────────

  /** The key this client sends: its id, name and role (all null, `auth: 'off'`, on a cluster without auth). */
  whoami(): Promise<Whoami> {
    return this.json('GET', '/v1/whoami');
  }

  /** Every key, revoked and expired ones too, oldest first (admin). */
  listKeys(): Promise<{ keys: ApiKeyView[] }> {
    return this.json('GET', '/v1/keys');
  }

  /** Makes a key (admin); the answer's `key` is shown this once. */
  createKey(request: KeyRequest): Promise<ApiKeyCreated> {
    return this.json('POST', '/v1/keys', request);
  }

  /** Revokes a key (admin): it stops working at once. */
  revokeKey(keyId: string): Promise<ApiKeyView> {
    return this.json('DELETE', `/v1/keys/${seg(keyId)}`);
  }

  // ── runtimes and functions ───────────────────────────────────────────────────────────────────

  listRuntimes(): Promise<{ runtimes: Runtime[] }> {
    return this.json('GET', '/v1/runtimes');
  }

  /** Registers a runtime, or replaces the one of its name (the name defaults to the image). */
  registerRuntime(spec: RuntimeSpec): Promise<Runtime> {
    return this.json('POST', '/v1/runtimes', spec);
  }

  getRuntime(name: string): Promise<Runtime> {
    return this.json('GET', `/v1/runtimes/${seg(name)}`);
  }

  /** Deletes a runtime; IN_USE (409) while a function uses it. */
  deleteRuntime(name: string): Promise<{ deleted: boolean }> {
    return this.json('DELETE', `/v1/runtimes/${seg(name)}`);
  }

  /** The latest version of every function. */
  listFunctions(): Promise<{ functions: FunctionView[] }> {
    return this.json('GET', '/v1/functions');
  }

  /**
   * Pushes a new version of function `name`: `bundle` is a .tar.gz (code at its root), a path
   * streamed from disk or its bytes. `fields` are the version's settings, or the form's fields
   * as sent, in order (for a caller holding them as text already, as a command line does).
   * @throws FerryError BAD_REQUEST for a bad name, field or bundle, NOT_FOUND for an unknown
   *   runtime, BUNDLE_TOO_LARGE (413)
   */
  async pushFunction(name: string, bundle: string | Uint8Array, fields: PushFields | readonly FormField[], options: PushOptions = {}): Promise<FunctionView> {
    try {
      return (await postMultipart({
        url: new URL(`${this.url}/v1/functions/${seg(name)}`),
        headers: this.headers(),
        fields: isForm(fields) ? fields : formOf(fields),
        fileField: 'module',
        file: bundle,
        onProgress: options.onProgress,
      })) as FunctionView;
    } catch (err) {
      throw err instanceof FerryError ? this.failed(err) : err;
    }
  }

  /** A function's latest version (`name`), or one version (`name@version`). */
  getFunction(ref: string): Promise<FunctionView> {
    return this.json('GET', `/v1/functions/${seg(ref)}`);
  }

  listFunctionVersions(name: string): Promise<{ versions: FunctionView[] }> {
    return this.json('GET', `/v1/functions/${seg(name)}/versions`);
  }

  /** Deletes every version of a function. */
  deleteFunction(name: string): Promise<{ deletedVersions: number }> {
    return this.json('DELETE', `/v1/functions/${seg(name)}`);
  }

  // ── calls ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Invokes function `ref` (`name` or `name@version`) with `params` (any JSON; left out: null).
   * @throws FerryError NOT_FOUND for an unknown function, IDEMPOTENCY_CONFLICT (409), QUEUE_FULL (429)
   */
  async invokeFunction(ref: string, params?: unknown, options: InvokeOptions = {}): Promise<Invocation> {
    const answer = await this.send({
      method: 'POST',
      path: `/v1/functions/${seg(ref)}/invoke`,
      query: { wait: options.wait, timeoutMs: options.timeoutMs, hold: options.hold, sessionId: options.sessionId },
      ...(params !== undefined ? { body: params } : {}),
      ...(options.idempotencyKey !== undefined ? { headers: { 'idempotency-key': options.idempotencyKey } } : {}),
    });
    if (answer.status === 202) return { status: 202, call: answer.body as CallRef, replayed: false };
    return { status: 200, call: answer.body as CallView, replayed: answer.headers['idempotency-replayed'] === 'true' };
  }

  /** Calls, newest first. */
  listCalls(query: CallFilter & PageQuery = {}): Promise<CallPage> {
    return this.json('GET', '/v1/calls', undefined, { ...query });
  }

  /** A call by id or callNum. */
  getCall(ref: string | number): Promise<CallView> {
    return this.json('GET', `/v1/calls/${seg(ref)}`);
  }

  /** Every execution (attempt) of a call, oldest first. */
  listCallExecutions(ref: string | number): Promise<ExecutionList> {
    return this.json('GET', `/v1/calls/${seg(ref)}/executions`);
  }

  /** A call's stdout, stderr and ctx.log lines. */
  getCallLogs(ref: string | number): Promise<CallLogsView> {
    return this.json('GET', `/v1/calls/${seg(ref)}/logs`);
  }

  /** Stops an unfinished call (HELD or PENDING → CANCELLED, RUNNING → KILLED); CONFLICT once it has ended. */
  cancelCall(ref: string | number): Promise<CallView> {
    return this.json('POST', `/v1/calls/${seg(ref)}/cancel`);
  }

  /** Runs a HELD call; CONFLICT when it is not HELD, QUEUE_FULL when the queue has no room. */
  dispatchCall(ref: string | number): Promise<CallView> {
    return this.json('POST', `/v1/calls/${seg(ref)}/dispatch`);
  }

  /** Runs an ended call that did not end DONE again; CONFLICT when it is DONE or has not ended. */
  retryCall(ref: string | number): Promise<CallView> {
    return this.json('POST', `/v1/calls/${seg(ref)}/retry`);
  }

  /**
   * The events of a call as they happen (`GET /v1/calls/:id/events`): `call` first and at every
   * status change, `progress` and `log` from the running execution, `end` last, after which the
   * iteration finishes. Stopping the iteration early closes the stream.
   * @throws FerryError NOT_FOUND for an unknown call, BAD_REPLY for an answer that is not an
   *   event stream or an event that does not read, STREAM_CLOSED when the stream ends before `end`
   */
  async *streamCallEvents(ref: string | number): AsyncGenerator<CallEvent> {
    const body = await this.openStream(`/v1/calls/${seg(ref)}/events`);
    // Loaded here: its event schemas (zod) are for the commands that follow a call.
    const { callEventsOf } = await import('./call-events.js');
    try {
      yield* callEventsOf(body, String(ref));
    } catch (err) {
      throw err instanceof FerryError ? this.failed(err) : err;
    }
  }

  /**
   * Every call of the cluster as it changes (`GET /v1/events`, reader): `call` summaries when a
   * call is made and at each status change, `progress` of running calls; `onOpen` once the api
   * listens. It never ends on its own (stop the iteration to close it); the api drops a client
   * that leaves too much unread.
   */
  async *streamClusterEvents(query: { funcName?: string } = {}, opts: { onOpen?: () => void } = {}): AsyncGenerator<ClusterEvent> {
    const body = await this.openStream(`/v1/events${queryString({ ...query })}`);
    // The api listens before it answers: from here on no change is missed.
    opts.onOpen?.();
    for await (const message of readSse(body)) {
      if (message.event !== 'call' && message.event !== 'progress') continue;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        throw this.failed(new FerryError(ClientErrorCode.BAD_REPLY, 200, `a cluster event that does not read: ${message.data.slice(0, 120)}`));
      }
      yield message.event === 'call' ? { event: 'call', data: data as CallSummary } : { event: 'progress', data: data as { id: string; progress: Progress } };
    }
  }

  /** Calls by status, queue and nodes now, and per step over a window (`GET /v1/stats`, reader). */
  getClusterStats(query: { windowSecs?: number; stepSecs?: number } = {}): Promise<ClusterStatsView> {
    return this.json('GET', '/v1/stats', undefined, { ...query });
  }

  /** The api's Prometheus metrics, as the text exposition format (`GET /metrics`, reader). */
  async getMetrics(): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/metrics`, { headers: this.headers() });
    } catch (err) {
      throw this.failed(unreachable(this.url, err));
    }
    const text = await res.text();
    if (!res.ok) throw this.failed(answerError(res.status, text));
    return text;
  }

  /** The body of an event stream at `path`, once the cluster has answered with one. */
  private async openStream(path: string): Promise<AsyncIterable<Uint8Array>> {
    let res: Response;
    try {
      res = await fetch(this.url + path, { headers: this.headers({ accept: 'text/event-stream' }) });
    } catch (err) {
      throw this.failed(unreachable(this.url, err));
    }
    if (!res.ok) throw this.failed(answerError(res.status, await res.text().catch(() => '')));
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream') || res.body === null) {
      await res.body?.cancel();
      throw this.failed(new FerryError(ClientErrorCode.BAD_REPLY, res.status, `the cluster answered GET ${path} with ${type || 'no content type'}, not an event stream`));
    }
    return res.body;
  }

  /** Hands every event of a call to `onEvent` and resolves with the call as it ended. */
  async followCall(ref: string | number, onEvent: (event: CallEvent) => void = () => undefined): Promise<CallView> {
    let final: CallView | undefined;
    for await (const event of this.streamCallEvents(ref)) {
      onEvent(event);
      if (event.event === 'end') final = event.data;
    }
    // The stream finishes only after `end`; any other finish was thrown.
    return final!;
  }

  /** Calls that ended failed with their attempts used up, newest first. */
  listDeadLetters(query: CallFilter & PageQuery = {}): Promise<CallPage> {
    return this.json('GET', '/v1/dead-letters', undefined, { ...query });
  }

  /** Runs again every dead letter the filters select, at most `limit` (≤ 10,000, the default). */
  retryDeadLetters(query: CallFilter & { limit?: number } = {}): Promise<{ retried: number }> {
    return this.json('POST', '/v1/dead-letters/retry', undefined, { ...query });
  }

  // ── runs ─────────────────────────────────────────────────────────────────────────────────────

  /** Runs function `ref` `times` times (1..10,000) with the same params, as one run; QUEUE_FULL when the queue has no room for all. */
  createRun(ref: string, run: { times: number; params?: unknown }): Promise<{ id: string }> {
    return this.json('POST', `/v1/functions/${seg(ref)}/runs`, run);
  }

  listRuns(query: PageQuery = {}): Promise<Page<'runs', RunView>> {
    return this.json('GET', '/v1/runs', undefined, { ...query });
  }

  getRun(id: string): Promise<RunView> {
    return this.json('GET', `/v1/runs/${seg(id)}`);
  }

  /** A run's calls, newest first. */
  listRunDetails(id: string, query: PageQuery = {}): Promise<Page<'details', RunDetail>> {
    return this.json('GET', `/v1/runs/${seg(id)}/details`, undefined, { ...query });
  }

  /** One call of a run by its place in it, from 1. */
  getRunDetail(id: string, detailId: number): Promise<RunDetail> {
    return this.json('GET', `/v1/runs/${seg(id)}/details/${seg(detailId)}`);
  }

  /** Cancels every unfinished call of a run; answers the run. */
  cancelRun(id: string): Promise<RunView> {
    return this.json('POST', `/v1/runs/${seg(id)}/cancel`);
  }

  // ── sessions ─────────────────────────────────────────────────────────────────────────────────

  createSession(): Promise<{ id: string }> {
    return this.json('POST', '/v1/sessions');
  }

  listSessions(query: PageQuery = {}): Promise<Page<'sessions', SessionView>> {
    return this.json('GET', '/v1/sessions', undefined, { ...query });
  }

  getSession(id: string): Promise<SessionView> {
    return this.json('GET', `/v1/sessions/${seg(id)}`);
  }

  /** Appends calls (held until the session starts, run at once after); answers their ids in order. */
  appendSessionCalls(id: string, calls: readonly { function: string; params?: unknown }[]): Promise<{ ids: string[] }> {
    return this.json('POST', `/v1/sessions/${seg(id)}/calls`, calls);
  }

  startSession(id: string): Promise<SessionView> {
    return this.json('POST', `/v1/sessions/${seg(id)}/start`);
  }

  killSession(id: string): Promise<SessionView> {
    return this.json('POST', `/v1/sessions/${seg(id)}/kill`);
  }

  /** Makes the next result page: every call ended since the page before (`page` null when none has). */
  nextSessionResults(id: string): Promise<SessionResultPage> {
    return this.json('POST', `/v1/sessions/${seg(id)}/results`);
  }

  /** A result page made before, the same every time. */
  getSessionResults(id: string, page: number): Promise<SessionResultPage> {
    return this.json('GET', `/v1/sessions/${seg(id)}/results/${seg(page)}`);
  }

  // ── batch jobs ───────────────────────────────────────────────────────────────────────────────

  createBatch(request: BatchRequest): Promise<{ id: string; numBatches: number }> {
    return this.json('POST', '/v1/batches', request);
  }

  listBatches(query: PageQuery = {}): Promise<Page<'batches', BatchView>> {
    return this.json('GET', '/v1/batches', undefined, { ...query });
  }

  getBatch(id: string): Promise<BatchView> {
    return this.json('GET', `/v1/batches/${seg(id)}`);
  }

  /** A batch job's partial results, the latest made first. */
  listBatchResults(id: string, query: PageQuery = {}): Promise<Page<'results', BatchResult>> {
    return this.json('GET', `/v1/batches/${seg(id)}/results`, undefined, { ...query });
  }

  /** Cancels a batch job: no combiner runs; answers the job. */
  cancelBatch(id: string): Promise<BatchView> {
    return this.json('POST', `/v1/batches/${seg(id)}/cancel`);
  }
}

const isForm = (fields: PushFields | readonly FormField[]): fields is readonly FormField[] => Array.isArray(fields);
