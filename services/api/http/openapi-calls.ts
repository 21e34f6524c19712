/** The invoke, calls and dead-letters part of the OpenAPI document (openapi.ts spreads it in). */
import { callListParams, callSummaryProperties } from './openapi-dashboard.js';
import { type Doc, ok, operation, pageOf, pageParams, pathParam, queryParam, type RouteError, schemaRef } from './openapi-operation.js';

const callRef = pathParam('id', 'call id or callNum');
const callStatuses = ['HELD', 'PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED'];

/** A call as one of the action routes answers it: the call as it now stands. */
const callAction = (id: string, summary: string, conflict: string, more: RouteError[] = []): Doc =>
  operation({ id, tag: 'calls', summary, parameters: [callRef], responses: { '200': ok('Call') }, errors: [404, [409, conflict], ...more] });

export const callPaths = {
  '/v1/functions/{name}/invoke': {
    post: operation({
      id: 'invokeFunction',
      tag: 'calls',
      summary: 'Invoke; the JSON body is the params. Async (202 + id) unless wait=true',
      parameters: [
        pathParam('name', 'name or name@version'),
        queryParam('wait', 'wait for the result, bounded by the function timeout', { type: 'boolean' }),
        queryParam('timeoutMs', 'wait at most this long', { type: 'integer', minimum: 1 }),
        queryParam('sessionId', 'group the call into a session'),
        queryParam('hold', 'store it HELD: it runs once POST /v1/calls/{id}/dispatch says so', { type: 'boolean' }),
        {
          name: 'Idempotency-Key',
          in: 'header',
          schema: { type: 'string', maxLength: 256 },
          description: 'the same key for the same function within FERRY_IDEMPOTENCY_TTL_MS answers the first call (200, header Idempotency-Replayed: true); other params: 409',
        },
        {
          name: 'x-request-id',
          in: 'header',
          schema: { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9._:/+=@-]+$' },
          description: "the call's request id (answered in the x-request-id response header, kept as the call's requestId, on every daemon's log lines about it); absent or not of this form: the api makes one",
        },
      ],
      requestBody: { required: false, description: 'the params (any JSON); no body: null', content: { 'application/json': { schema: {} } } },
      responses: {
        '200': {
          ...ok('Call', 'Finished (wait=true), or the call an Idempotency-Key made before'),
          headers: { 'Idempotency-Replayed': { description: '`true` when an Idempotency-Key answered the call it made before', schema: { type: 'string', enum: ['true'] } } },
        },
        '202': { ...ok('CallRef', 'Accepted'), headers: { Location: { description: 'the call, /v1/calls/{id}', schema: { type: 'string' } } } },
      },
      errors: [404, [409, 'IDEMPOTENCY_CONFLICT: the key was used with other params'], 429],
    }),
  },
  '/v1/calls': {
    get: operation({
      id: 'listCalls',
      tag: 'calls',
      summary: 'Calls, newest first, cursor-paginated',
      parameters: [...callListParams, ...pageParams()],
      responses: { '200': ok('CallPage') },
    }),
  },
  '/v1/calls/{id}': {
    get: operation({ id: 'getCall', tag: 'calls', summary: 'A call by id or callNum', parameters: [callRef], responses: { '200': ok('Call') }, errors: [404] }),
  },
  '/v1/calls/{id}/executions': {
    get: operation({
      id: 'listCallExecutions',
      tag: 'calls',
      summary: 'Every execution (attempt) of a call, oldest first',
      parameters: [callRef],
      responses: { '200': ok('ExecutionList') },
      errors: [404],
    }),
  },
  '/v1/calls/{id}/events': {
    get: operation({
      id: 'streamCallEvents',
      tag: 'calls',
      summary: 'Server-Sent Events until the call ends',
      description:
        "Each event's data is JSON: `call` (the Call, first and at every status change), `progress` (`{attempt, executionId, progress?, metrics?}`), `log` (`{attempt, executionId, line}`: a line from ctx.log), `end` (the final Call), then the stream closes. A client that connects after the end gets `call` and `end` at once. A comment line every 15 s keeps a quiet stream open.",
      parameters: [callRef],
      responses: { '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
      errors: [404],
    }),
  },
  '/v1/calls/{id}/logs': {
    get: operation({ id: 'getCallLogs', tag: 'calls', summary: "A call's stdout and stderr", parameters: [callRef], responses: { '200': ok('CallLogs') }, errors: [404] }),
  },
  '/v1/calls/{id}/cancel': {
    post: callAction('cancelCall', 'Cancel an unfinished call: HELD or PENDING → CANCELLED, RUNNING → KILLED', 'CONFLICT: it has already ended'),
  },
  '/v1/calls/{id}/dispatch': {
    post: callAction('dispatchCall', 'Run a HELD call', 'CONFLICT: it is not HELD', [429]),
  },
  '/v1/calls/{id}/retry': {
    post: callAction(
      'retryCall',
      'Run an ended call that did not end DONE again, as a new execution of the same call (its retry policy counted afresh)',
      'CONFLICT: it ended DONE, or has not ended',
    ),
  },
  '/v1/dead-letters': {
    get: operation({
      id: 'listDeadLetters',
      tag: 'dead-letters',
      summary: 'Calls that ended failed with their attempts used up (ERROR, TIMEOUT, or KILLED as stuck), newest first, cursor-paginated',
      parameters: [...callListParams, ...pageParams()],
      responses: { '200': ok('CallPage') },
    }),
  },
  '/v1/dead-letters/retry': {
    post: operation({
      id: 'retryDeadLetters',
      tag: 'dead-letters',
      summary: 'Run again every dead letter the filters select (at most `limit`, ≤ 10,000, per request)',
      parameters: [...callListParams, queryParam('limit', 'how many at most, from 1 to 10,000 (default 10,000)', { type: 'integer', minimum: 1, maximum: 10000 })],
      responses: { '200': ok('Retried') },
    }),
  },
};

const nullableInteger = { type: 'integer', nullable: true };
const callError = { type: 'object', nullable: true, properties: { code: { type: 'string' }, message: { type: 'string' } } };
const metrics = { type: 'object', nullable: true, additionalProperties: { type: 'number' } };

export const callSchemas = {
  CallRef: { type: 'object', properties: { id: { type: 'string' }, callNum: { type: 'integer' }, status: { type: 'string', enum: callStatuses } } },
  CallLogs: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      status: { type: 'string', enum: callStatuses },
      stdout: { type: 'string' },
      stderr: { type: 'string' },
      log: { type: 'string', description: 'lines the function reported with ctx.log (or `##ferry log` on stderr)' },
      truncated: { type: 'boolean' },
    },
  },
  Progress: {
    // null (none reported) goes with the number: exactly one branch holds for each value.
    oneOf: [{ type: 'number', minimum: 0, maximum: 1, nullable: true }, { type: 'object', additionalProperties: { oneOf: [{ type: 'number' }, { type: 'string' }] } }],
    description: 'a fraction 0..1, or an object such as {"current": 3, "total": 10}; null before any is reported',
  },
  Execution: {
    type: 'object',
    properties: {
      executionId: { type: 'string' },
      attempt: { type: 'integer' },
      nodeId: { type: 'string', nullable: true },
      state: { type: 'string', enum: ['PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'FAILED', 'LOST', 'KILLED', 'CANCELLED', 'STUCK'] },
      createdAt: { type: 'integer' },
      startedAt: nullableInteger,
      updatedAt: { type: 'integer' },
      finishedAt: nullableInteger,
      progress: schemaRef('Progress'),
      metrics,
      failureReason: callError,
    },
  },
  ExecutionList: {
    type: 'object',
    properties: { id: { type: 'string' }, status: { type: 'string', enum: callStatuses }, executions: { type: 'array', items: schemaRef('Execution') } },
  },
  Call: {
    type: 'object',
    properties: {
      ...callSummaryProperties,
      params: { description: 'any JSON' },
      result: { type: 'string' },
      error: callError,
      logs: schemaRef('CallLogs'),
      attempt: { type: 'integer' },
      workerId: { type: 'string', nullable: true },
      progress: schemaRef('Progress'),
      metrics,
      timings: { type: 'object', nullable: true, properties: { queuedMs: { type: 'number' }, initMs: { type: 'number' }, runMs: { type: 'number' } } },
      exitCode: { type: 'integer', nullable: true, description: "an exec function's exit status (null: killed by a signal); absent for agent calls" },
      currentExecution: { type: 'object', allOf: [schemaRef('Execution')], nullable: true },
      nextAttemptAt: { type: 'integer', nullable: true, description: 'a PENDING call waiting out a retry back-off runs no sooner' },
      failures: { type: 'integer', description: 'failures of the function charged to its retry policy' },
      deadLetter: { type: 'boolean' },
      idempotencyKey: { type: 'string', nullable: true },
      requestId: {
        type: 'string',
        nullable: true,
        description: "the x-request-id of the request that made it (or the one the api made), on every daemon's log lines about it; of a run or batch: the request that made it, of a session: its append",
      },
    },
  },
  CallPage: {
    ...pageOf('calls', 'Call'),
    properties: {
      ...(pageOf('calls', 'Call')['properties'] as Doc),
      scanned: { type: 'integer', description: 'index entries the request looked at (at most FERRY_LIST_SCAN_MAX, or what FERRY_LIST_SCAN_MS allows)' },
    },
  },
  Retried: { type: 'object', properties: { retried: { type: 'integer' } } },
};
