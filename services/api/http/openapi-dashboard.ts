/** The monitoring part of the OpenAPI document (openapi.ts spreads it in): call list filters, /v1/events, /v1/stats. */
import { STATS_BUCKET_MS } from '../../../shared/protocol/call-stats.js';
import { type Doc, ok, operation, queryParam } from './openapi-operation.js';
import { MAX_UNSENT_BYTES, PROGRESS_EVERY_MS } from './cluster-event-stream.js';
import { STATS_CACHE_MS } from './cluster-stats.js';

/** The filters of `GET /v1/calls` and `GET /v1/dead-letters`, all combinable (limit and cursor apart). */
export const callListParams: Doc[] = [
  queryParam('funcName', 'only calls of this function'),
  queryParam('status', 'only calls in this status', { type: 'string', enum: ['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'] }),
  queryParam('sessionId', 'only calls of this session'),
  queryParam('nodeId', 'only calls whose current execution is (or was last) on this node'),
  queryParam('from', 'only calls created at or after this, epoch ms', { type: 'integer' }),
  queryParam('to', 'only calls created at or before this, epoch ms', { type: 'integer' }),
  queryParam(
    'q',
    'the call with this id or callNum, if there is one; else calls whose params or result (as JSON) hold this text, in any case. A text search, or two or more filters, checks calls one by one for at most FERRY_LIST_SCAN_MAX index entries or FERRY_LIST_SCAN_MS per request: a page may then hold fewer than `limit` calls (even none) and a `nextCursor` to go on',
  ),
];

export const dashboardPaths = {
  '/v1/events': {
    get: operation({
      id: 'streamClusterEvents',
      tag: 'calls',
      summary: 'Server-Sent Events of every call of the cluster, until the client goes',
      description: `Event \`call\` (a CallSummary) when a call is made and at each change of its status; event \`progress\` (\`{ id, progress }\`), the latest of each running call at most every ${PROGRESS_EVERY_MS} ms. The stream opens with a comment, and a keep-alive comment follows every 15 s. A client that leaves more than ${MAX_UNSENT_BYTES / 1024} KiB unread is dropped (the stream ends): reconnect and read /v1/calls again.`,
      parameters: [queryParam('funcName', 'only calls of this function')],
      responses: {
        '200': {
          description: 'An event stream of `call` (CallSummary) and `progress` (`{ id, progress }`, progress as in Progress) events',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
      },
    }),
  },
  '/v1/stats': {
    get: operation({
      id: 'getClusterStats',
      tag: 'cluster',
      summary: 'Calls by status, queue and nodes now, and calls started, ended and failed with their run times per step over a window',
      description: `The series is counted by the DB as calls change, per ${STATS_BUCKET_MS / 1000} s, and kept 7 days (whatever the call retention), so it outlives api restarts and removed calls. An answer is served again for ${STATS_CACHE_MS / 1000} s.`,
      parameters: [
        queryParam('windowSecs', 'how far back the series goes', { type: 'integer', minimum: 10, maximum: 604800, default: 3600 }),
        queryParam('stepSecs', 'length of one step: a multiple of 10, at most windowSecs, at most 1,440 steps', { type: 'integer', minimum: 10, multipleOf: 10, default: 60 }),
      ],
      responses: { '200': ok('ClusterStats') },
    }),
  },
  '/metrics': {
    get: operation({
      id: 'getMetrics',
      tag: 'cluster',
      summary: 'Prometheus metrics of the api (text exposition format 0.0.4): calls, queue, nodes, refused inputs, process; a key with the read permission, as a bearer token',
      responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
    }),
  },
};

const nullableInt = { type: 'integer', nullable: true };

/** What a call and its summary both show of it. */
export const callSummaryProperties = {
  id: { type: 'string' },
  callNum: { type: 'integer' },
  funcName: { type: 'string' },
  version: { type: 'integer' },
  status: { type: 'string', enum: ['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'] },
  sessionId: { type: 'string', nullable: true },
  groupId: { type: 'string', nullable: true, description: 'the run, session or batch it belongs to' },
  createdAt: { type: 'integer' },
  startedAt: nullableInt,
  finishedAt: nullableInt,
  invokedBy: { type: 'string', nullable: true, description: 'the id of the API key that invoked it (of a run, session or batch: the key that made it)' },
};

export const dashboardSchemas = {
  CallSummary: {
    type: 'object',
    properties: {
      ...callSummaryProperties,
      nodeId: { type: 'string', nullable: true, description: 'the node of its current execution; null before it was sent anywhere' },
    },
  },
  StatsStep: {
    type: 'object',
    properties: {
      t: { type: 'integer', description: 'start of the step, epoch ms' },
      started: { type: 'integer', description: 'executions that started in the step' },
      ended: { type: 'integer', description: 'calls that ended in the step, in any final status' },
      failed: { type: 'integer', description: 'calls that ended ERROR, TIMEOUT or KILLED in the step' },
      p50Ms: { ...nullableInt, description: 'median finishedAt - startedAt of the calls that ended in the step, within 5 %; null when none did' },
      p99Ms: { ...nullableInt, description: '99th percentile of the same' },
    },
  },
  ClusterStats: {
    type: 'object',
    properties: {
      now: { type: 'integer', description: 'when this was computed, epoch ms' },
      windowSecs: { type: 'integer' },
      stepSecs: { type: 'integer' },
      counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'calls stored, by status' },
      queued: { type: 'integer', description: "calls waiting in the api's queue for a node" },
      running: { type: 'integer', description: 'calls sent to a node and not yet ended' },
      nodesUp: { type: 'integer', description: 'worker nodes connected' },
      series: { type: 'array', items: { $ref: '#/components/schemas/StatsStep' }, description: 'one step per stepSecs, oldest first; the last holds now' },
      recentFailures: { type: 'array', maxItems: 20, items: { $ref: '#/components/schemas/CallSummary' }, description: 'the latest calls that ended failed, newest first' },
    },
  },
};
