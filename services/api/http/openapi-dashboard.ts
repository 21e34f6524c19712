/** The monitoring part of the OpenAPI document (openapi.ts spreads it in): call list filters, /v1/events, /v1/stats. */
import { STATS_BUCKET_MS } from '../../../shared/protocol/call-stats.js';
import { authErrors } from './openapi-keys.js';
import { MAX_UNSENT_BYTES, PROGRESS_EVERY_MS } from './cluster-event-stream.js';
import { STATS_CACHE_MS } from './cluster-stats.js';

const json = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });
const ok = (schema: string, description = 'OK') => ({ description, content: json(schema) });
const errors = { '400': { description: 'Bad request', content: json('Error') }, ...authErrors };
const query = (name: string, type: string, description: string) => ({ name, in: 'query', required: false, schema: { type }, description });

/** The filters of `GET /v1/calls` and `GET /v1/dead-letters`, all combinable. */
export const callListParams = [
  query('funcName', 'string', 'only calls of this function'),
  { ...query('status', 'string', 'only calls in this status'), schema: { type: 'string', enum: ['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'] } },
  query('sessionId', 'string', 'only calls of this session'),
  query('nodeId', 'string', 'only calls whose current execution is (or was last) on this node'),
  query('from', 'integer', 'only calls created at or after this, epoch ms'),
  query('to', 'integer', 'only calls created at or before this, epoch ms'),
  query(
    'q',
    'string',
    'the call with this id or callNum, if there is one; else calls whose params or result (as JSON) hold this text, in any case. A filter without an index (q, nodeId, from/to, or two filters) reads at most FERRY_LIST_SCAN_MAX calls per request: a page may then hold fewer than `limit` calls (even none) and a `nextCursor` to go on',
  ),
  { ...query('limit', 'integer', 'calls per page'), schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
  query('cursor', 'string', 'the `nextCursor` of the page before'),
];

export const dashboardPaths = {
  '/v1/events': {
    get: {
      operationId: 'streamClusterEvents',
      summary: 'Server-Sent Events of every call of the cluster, until the client goes',
      description: `Event \`call\` (a CallSummary) when a call is made and at each change of its status; event \`progress\` (\`{ id, progress }\`), the latest of each running call at most every ${PROGRESS_EVERY_MS} ms. The stream opens with a comment, and a keep-alive comment follows every 15 s. A client that leaves more than ${MAX_UNSENT_BYTES / 1024} KiB unread is dropped (the stream ends): reconnect and read /v1/calls again.`,
      parameters: [query('funcName', 'string', 'only calls of this function')],
      responses: {
        '200': {
          description: 'An event stream of `call` (CallSummary) and `progress` (CallProgressEvent) events',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        ...errors,
      },
    },
  },
  '/v1/stats': {
    get: {
      operationId: 'getClusterStats',
      summary: 'Calls by status, queue and nodes now, and calls started, ended and failed with their run times per step over a window',
      description: `The series is counted by the DB as calls change, per ${STATS_BUCKET_MS / 1000} s, and kept 7 days (whatever the call retention), so it outlives api restarts and removed calls. An answer is served again for ${STATS_CACHE_MS / 1000} s.`,
      parameters: [
        { ...query('windowSecs', 'integer', 'how far back the series goes'), schema: { type: 'integer', minimum: 10, maximum: 604800, default: 3600 } },
        {
          ...query('stepSecs', 'integer', 'length of one step: a multiple of 10, at most windowSecs, at most 1,440 steps'),
          schema: { type: 'integer', minimum: 10, multipleOf: 10, default: 60 },
        },
      ],
      responses: { '200': ok('ClusterStats'), ...errors },
    },
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
  CallProgressEvent: { type: 'object', properties: { id: { type: 'string' }, progress: { $ref: '#/components/schemas/Progress' } } },
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
