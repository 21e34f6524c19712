/**
 * The OpenAPI document of the /v1 surface, /healthz and /metrics. A test checks that it lists
 * exactly the routes the app serves.
 */
import { authErrors, keyPaths, keySchemas, security, securitySchemes } from './openapi-keys.js';
import { callListParams, callSummaryProperties, dashboardPaths, dashboardSchemas } from './openapi-dashboard.js';
import { sessionPaths, sessionSchemas } from './openapi-sessions.js';

const json = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });
const ok = (schema: string, description = 'OK') => ({ description, content: json(schema) });
const errors = {
  '400': { description: 'Bad request', content: json('Error') },
  '404': { description: 'Not found', content: json('Error') },
  ...authErrors,
};
const nameParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });

export const openapi = {
  openapi: '3.0.3',
  info: {
    title: 'Ferry',
    version: '1.0.0',
    description:
      'Ferry Function-as-a-Service cluster: runtimes, functions, calls, nodes. Every route but /healthz and this document needs an API key (Bearer, or HTTP Basic with the key as the password) whose role allows it: admin (everything), developer (push and delete functions, invoke, read), invoker (invoke and move calls, runs, sessions and batches on; read), reader (read). No key or a bad one: 401 UNAUTHENTICATED; a role that does not allow the route: 403 FORBIDDEN.',
  },
  security,
  paths: {
    '/healthz': { get: { summary: 'Liveness and readiness of the api and the daemons it uses (no key needed)', security: [], responses: { '200': ok('Health'), '503': ok('Health', 'Degraded') } } },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics of the api (text exposition format 0.0.4): calls, queue, nodes, refused inputs, process; a key with the read permission, as a bearer token',
        responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, ...authErrors },
      },
    },
    '/v1/openapi.json': { get: { summary: 'This document (no key needed)', security: [], responses: { '200': { description: 'OpenAPI 3 document' } } } },
    ...keyPaths,
    '/v1/runtimes': {
      get: { summary: 'List runtimes', responses: { '200': ok('RuntimeList') } },
      post: { summary: 'Register or replace a runtime (name defaults to image)', requestBody: { required: true, content: json('RuntimeSpec') }, responses: { '201': ok('Runtime'), ...errors } },
    },
    '/v1/runtimes/{name}': {
      get: { summary: 'One runtime', parameters: [nameParam('name', 'runtime name')], responses: { '200': ok('Runtime'), ...errors } },
      delete: { summary: 'Delete a runtime no function uses', parameters: [nameParam('name', 'runtime name')], responses: { '200': { description: 'Deleted' }, ...errors, '409': { description: 'In use', content: json('Error') } } },
    },
    '/v1/functions': { get: { summary: 'Latest version of every function', responses: { '200': ok('FunctionList') } } },
    '/v1/functions/{name}': {
      post: {
        summary: 'Push a new version: multipart field `module` (tar.gz, code at its root) and the runtime, as field `runtime` or query `runtime`',
        description:
          'A bad function name (400) or an unknown runtime (404) named in the query, or in a `runtime` field sent before `module`, is answered before the bundle is read. A bundle is checked while it arrives (only files and folders, no absolute paths or `..`, the entry and unpacked-size limits) and refused (400) as soon as a problem is found. A bad `env` or `secret` entry is 400, naming it by its place and name, never by its value.',
        parameters: [
          nameParam('name', 'function name'),
          { name: 'runtime', in: 'query', required: false, schema: { type: 'string' }, description: 'the runtime, instead of the `runtime` field; must agree with the field when both are given' },
        ],
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['module'],
                properties: {
                  module: { type: 'string', format: 'binary' },
                  runtime: { type: 'string', description: 'required unless given as query `runtime`; send it before `module` to have it checked before the bundle is read' },
                  timeoutMs: { type: 'integer' },
                  memoryMb: { type: 'integer' },
                  retryMaxAttempts: { type: 'integer', description: 'executions of the function in all (turns the retry policy on)' },
                  retryBackoffMs: { type: 'integer', default: 1000 },
                  retryBackoffFactor: { type: 'number', default: 2 },
                  retryMaxBackoffMs: { type: 'integer', default: 3600000 },
                  stuckAfterMs: { type: 'integer', description: 'an execution reporting nothing for this long is killed as STUCK' },
                  env: {
                    type: 'array',
                    items: { type: 'string', example: 'REGION=eu-west' },
                    description:
                      "a variable of the function's process, `NAME=VALUE`, the field repeated per variable; shown by the API. A name is letters, digits and `_`, not starting with a digit, not `FERRY_*`; at most 64 names (env and secrets together), a value at most 16 KiB",
                  },
                  secret: {
                    type: 'array',
                    items: { type: 'string', example: 'API_TOKEN=s3cr3t' },
                    description: 'a secret variable, `NAME=VALUE`, the field repeated per variable: stored sealed (AES-256-GCM), never shown (versions list `secrets` by name)',
                  },
                  keepEnv: {
                    type: 'string',
                    enum: ['true', 'false'],
                    description: "`true`: start from the latest version's env and secrets, names given in this push replacing theirs (default: the version has only its own push's)",
                  },
                },
              },
            },
          },
        },
        responses: { '201': ok('FunctionVersion'), ...errors, '413': { description: 'Upload too large', content: json('Error') } },
      },
      get: { summary: 'A function: `name` (latest) or `name@version`', parameters: [nameParam('name', 'name or name@version')], responses: { '200': ok('FunctionVersion'), ...errors } },
      delete: { summary: 'Delete every version', parameters: [nameParam('name', 'function name')], responses: { '200': { description: 'Deleted' }, ...errors } },
    },
    '/v1/functions/{name}/versions': { get: { summary: 'Every version of a function', parameters: [nameParam('name', 'function name')], responses: { '200': ok('FunctionVersionList'), ...errors } } },
    '/v1/functions/{name}/invoke': {
      post: {
        summary: 'Invoke; the JSON body is the params. Async (202 + id) unless wait=true',
        parameters: [
          nameParam('name', 'name or name@version'),
          { name: 'wait', in: 'query', schema: { type: 'boolean' }, description: 'wait for the result, bounded by the function timeout' },
          { name: 'timeoutMs', in: 'query', schema: { type: 'integer' }, description: 'wait at most this long' },
          { name: 'sessionId', in: 'query', schema: { type: 'string' }, description: 'group the call into a session' },
          { name: 'hold', in: 'query', schema: { type: 'boolean' }, description: 'store it HELD: it runs once POST /v1/calls/{id}/dispatch says so' },
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
        requestBody: { content: { 'application/json': { schema: {} } } },
        responses: {
          '200': ok('Call', 'Finished (wait=true), or the call an Idempotency-Key made before'),
          '202': ok('CallRef', 'Accepted'),
          ...errors,
          '409': { description: 'IDEMPOTENCY_CONFLICT: the key was used with other params', content: json('Error') },
          '429': { description: 'Queue full; see Retry-After', content: json('Error') },
        },
      },
    },
    '/v1/calls': {
      get: {
        operationId: 'listCalls',
        summary: 'Calls, newest first, cursor-paginated, by any mix of function, status, session, node, creation time and text',
        parameters: callListParams,
        responses: { '200': ok('CallPage'), ...errors },
      },
    },
    '/v1/calls/{id}': { get: { summary: 'A call by id or callNum', parameters: [nameParam('id', 'call id or callNum')], responses: { '200': ok('Call'), ...errors } } },
    '/v1/calls/{id}/executions': {
      get: { summary: 'Every execution (attempt) of a call, oldest first', parameters: [nameParam('id', 'call id or callNum')], responses: { '200': ok('ExecutionList'), ...errors } },
    },
    '/v1/calls/{id}/events': {
      get: {
        summary:
          'Server-Sent Events until the call ends: `call` (the call, first and at every status change), `progress`, `log` (lines from ctx.log), `end` (the final call), then the stream closes',
        parameters: [nameParam('id', 'call id or callNum')],
        responses: { '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors },
      },
    },
    '/v1/calls/{id}/logs': { get: { summary: "A call's stdout and stderr", parameters: [nameParam('id', 'call id or callNum')], responses: { '200': ok('CallLogs'), ...errors } } },
    '/v1/calls/{id}/cancel': {
      post: { summary: 'Cancel an unfinished call: HELD or PENDING → CANCELLED, RUNNING → KILLED', parameters: [nameParam('id', 'call id or callNum')], responses: { '200': ok('Call'), ...errors, '409': { description: 'Already ended', content: json('Error') } } },
    },
    '/v1/calls/{id}/dispatch': {
      post: { summary: 'Run a HELD call', parameters: [nameParam('id', 'call id or callNum')], responses: { '200': ok('Call'), ...errors, '409': { description: 'Not HELD', content: json('Error') } } },
    },
    '/v1/calls/{id}/retry': {
      post: {
        summary: 'Run an ended call that did not end DONE again, as a new execution of the same call (its retry policy counted afresh)',
        parameters: [nameParam('id', 'call id or callNum')],
        responses: { '200': ok('Call'), ...errors, '409': { description: 'DONE, or not ended', content: json('Error') } },
      },
    },
    '/v1/dead-letters': {
      get: {
        operationId: 'listDeadLetters',
        summary: 'Calls that ended failed with their attempts used up (ERROR, TIMEOUT, or KILLED as stuck), newest first, cursor-paginated, filtered as /v1/calls',
        parameters: callListParams,
        responses: { '200': ok('CallPage'), ...errors },
      },
    },
    '/v1/dead-letters/retry': {
      post: {
        summary: 'Run again every dead letter the filters select (at most `limit`, ≤ 10,000, per request)',
        parameters: ['funcName', 'status', 'sessionId'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })).concat([{ name: 'limit', in: 'query', schema: { type: 'integer' } } as never]),
        responses: { '200': ok('Retried'), ...errors },
      },
    },
    '/v1/functions/{name}/runs': {
      post: {
        summary: 'Run a function `times` times (1..10,000) with the same params, as one run; answered once every call is stored',
        parameters: [nameParam('name', 'function name, optionally `name@version`')],
        requestBody: { required: true, content: json('RunRequest') },
        responses: { '201': ok('RunCreated', 'Created'), ...errors, '429': { description: 'The queue has no room for every call of the run', content: json('Error') } },
      },
    },
    '/v1/runs': {
      get: {
        summary: 'Runs, newest first, cursor-paginated',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }],
        responses: { '200': ok('RunList'), ...errors },
      },
    },
    '/v1/runs/{id}': { get: { summary: 'One run: status derived from its counts, start, end, duration', parameters: [nameParam('id', 'run id')], responses: { '200': ok('Run'), ...errors } } },
    '/v1/runs/{id}/details': {
      get: {
        summary: "A run's calls, newest first, cursor-paginated like /v1/calls",
        parameters: [nameParam('id', 'run id'), { name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }],
        responses: { '200': ok('RunDetailPage'), ...errors },
      },
    },
    '/v1/runs/{id}/details/{detailId}': {
      get: { summary: 'One call of a run by its place in it (1..times)', parameters: [nameParam('id', 'run id'), nameParam('detailId', 'place in the run, from 1')], responses: { '200': ok('RunDetail'), ...errors } },
    },
    '/v1/runs/{id}/cancel': {
      post: { summary: 'Cancel every unfinished call of a run (waiting → CANCELLED, running → KILLED); answers the run', parameters: [nameParam('id', 'run id')], responses: { '200': ok('Run'), ...errors } },
    },
    ...sessionPaths,
    '/v1/batches': {
      post: {
        summary: 'Start a batch job (burst-compute): [startIndex, endIndex) cut into batches of batchSize, one worker call each, at most maxParallelism unfinished at once, then one combiner call',
        requestBody: { required: true, content: json('BatchRequest') },
        responses: { '201': ok('BatchCreated', 'Created'), ...errors },
      },
      get: {
        summary: 'Batch jobs, newest first, cursor-paginated',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }],
        responses: { '200': ok('BatchList'), ...errors },
      },
    },
    '/v1/batches/{id}': { get: { summary: 'One batch job: state, counts, elapsed time, the combiner call and its result', parameters: [nameParam('id', 'batch job id')], responses: { '200': ok('Batch'), ...errors } } },
    '/v1/batches/{id}/results': {
      get: {
        summary: "A batch job's partial results (the worker calls' results, dropped after resultTtlSecs), the latest made first, cursor-paginated",
        parameters: [nameParam('id', 'batch job id'), { name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }],
        responses: { '200': ok('BatchResultPage'), ...errors },
      },
    },
    '/v1/batches/{id}/cancel': {
      post: { summary: 'Cancel a batch job: its unfinished worker calls are cancelled and no combiner runs; answers the job', parameters: [nameParam('id', 'batch job id')], responses: { '200': ok('Batch'), ...errors } },
    },
    ...dashboardPaths,
    '/v1/nodes': { get: { summary: 'Worker nodes: capacity, running calls, warm containers, heartbeat age', responses: { '200': ok('NodeList') } } },
    '/v1/nodes/{nodeId}': { get: { summary: 'One node', parameters: [nameParam('nodeId', 'node id')], responses: { '200': ok('Node'), ...errors } } },
  },
  components: {
    securitySchemes,
    schemas: {
      ...sessionSchemas,
      ...keySchemas,
      ...dashboardSchemas,
      BatchRequest: {
        type: 'object',
        required: ['worker', 'combiner', 'startIndex', 'endIndex', 'batchSize', 'maxParallelism', 'timeoutSecs'],
        properties: {
          worker: { type: 'string', description: 'function called once per batch with {jobId, batchId, startIndex, endIndex, jobParameters}' },
          combiner: { type: 'string', description: 'function called once at the end with {jobId, startTime, elapsedSecs, jobParameters, results}' },
          startIndex: { type: 'integer', minimum: 0 },
          endIndex: { type: 'integer', description: 'exclusive' },
          batchSize: { type: 'integer', minimum: 1 },
          maxParallelism: { type: 'integer', minimum: 1, maximum: 1000 },
          timeoutSecs: { type: 'integer', minimum: 1, maximum: 604800, description: 'past it, unfinished batches are cancelled and the combiner called' },
          params: { description: 'jobParameters (any JSON)' },
          resultTtlSecs: { type: 'integer', minimum: 1, default: 3600 },
          toleratedFailures: { oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^\\d+%$' }], default: 0 },
        },
      },
      BatchCreated: { type: 'object', properties: { id: { type: 'string' }, numBatches: { type: 'integer' } } },
      Batch: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          state: { type: 'string', enum: ['running', 'combining', 'done', 'failed', 'cancelled'] },
          worker: { type: 'string' },
          combiner: { type: 'string' },
          numBatches: { type: 'integer' },
          counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'worker calls per call status' },
          startTime: { type: 'string', format: 'date-time' },
          elapsedSecs: { type: 'number' },
          combinerCallId: { type: 'string', nullable: true },
          combinerResult: { nullable: true, description: "the combiner's result once it is done" },
          error: { type: 'string', nullable: true, description: 'why it failed without a combiner' },
        },
      },
      BatchList: { type: 'object', properties: { batches: { type: 'array', items: { $ref: '#/components/schemas/Batch' } }, nextCursor: { type: 'string', nullable: true } } },
      BatchResultPage: {
        type: 'object',
        properties: {
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                batchId: { type: 'integer' },
                startIndex: { type: 'integer' },
                endIndex: { type: 'integer' },
                status: { type: 'string' },
                result: { nullable: true },
                expired: { type: 'boolean' },
              },
            },
          },
          nextCursor: { type: 'string', nullable: true },
        },
      },
      RunRequest: {
        type: 'object',
        required: ['times'],
        properties: { times: { type: 'integer', minimum: 1, maximum: 10000 }, params: { description: 'the params of every call (any JSON)' } },
      },
      RunCreated: { type: 'object', properties: { id: { type: 'string' } } },
      Run: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          function: { type: 'string', description: 'name@version' },
          times: { type: 'integer' },
          status: { type: 'string', enum: ['QUEUED', 'RUNNING', 'COMPLETE', 'ERROR', 'CANCELLED', 'KILLED'] },
          counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'calls per call status' },
          submittedAt: { type: 'integer' },
          start: { type: 'integer', nullable: true, description: 'when its first call started, epoch ms' },
          end: { type: 'integer', nullable: true, description: 'when its last call ended, once all have' },
          duration: { type: 'integer', nullable: true, description: 'end − start, ms' },
          cancelledAt: { type: 'integer', nullable: true },
        },
      },
      RunList: { type: 'object', properties: { runs: { type: 'array', items: { $ref: '#/components/schemas/Run' } }, nextCursor: { type: 'string', nullable: true } } },
      RunDetail: {
        type: 'object',
        properties: {
          detailId: { type: 'integer' },
          callId: { type: 'string' },
          status: { type: 'string' },
          submittedAt: { type: 'integer' },
          start: { type: 'integer', nullable: true },
          end: { type: 'integer', nullable: true },
          duration: { type: 'integer', nullable: true },
        },
      },
      RunDetailPage: { type: 'object', properties: { details: { type: 'array', items: { $ref: '#/components/schemas/RunDetail' } }, nextCursor: { type: 'string', nullable: true } } },
      Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
      RuntimeSpec: {
        type: 'object',
        required: ['image', 'run'],
        properties: {
          name: { type: 'string' },
          image: { type: 'string' },
          path: { type: 'string', default: '/ws' },
          dependencies: { type: 'string' },
          run: { type: 'string' },
          protocol: { type: 'string', enum: ['exec', 'agent'], default: 'exec' },
        },
      },
      Runtime: { allOf: [{ $ref: '#/components/schemas/RuntimeSpec' }, { type: 'object', properties: { createdAt: { type: 'integer' } } }] },
      RuntimeList: { type: 'object', properties: { runtimes: { type: 'array', items: { $ref: '#/components/schemas/Runtime' } } } },
      FunctionVersion: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          runtime: { type: 'string' },
          version: { type: 'integer' },
          sha256: { type: 'string' },
          size: { type: 'integer' },
          timeoutMs: { type: 'integer' },
          memoryMb: { type: 'integer' },
          retry: {
            type: 'object',
            nullable: true,
            properties: { maxAttempts: { type: 'integer' }, backoffMs: { type: 'integer' }, backoffFactor: { type: 'number' }, maxBackoffMs: { type: 'integer' } },
          },
          stuckAfterMs: { type: 'integer', nullable: true },
          env: { type: 'object', additionalProperties: { type: 'string' }, description: "variables of the function's process" },
          secrets: { type: 'array', items: { type: 'string' }, description: 'the names of its secret variables, sorted; their values are never shown' },
          createdAt: { type: 'integer' },
        },
      },
      Retried: { type: 'object', properties: { retried: { type: 'integer' } } },
      FunctionList: { type: 'object', properties: { functions: { type: 'array', items: { $ref: '#/components/schemas/FunctionVersion' } } } },
      FunctionVersionList: { type: 'object', properties: { versions: { type: 'array', items: { $ref: '#/components/schemas/FunctionVersion' } } } },
      CallRef: { type: 'object', properties: { id: { type: 'string' }, callNum: { type: 'integer' }, status: { type: 'string' } } },
      CallLogs: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          status: { type: 'string' },
          stdout: { type: 'string' },
          stderr: { type: 'string' },
          log: { type: 'string', description: 'lines the function reported with ctx.log (or `##ferry log` on stderr)' },
          truncated: { type: 'boolean' },
        },
      },
      Progress: {
        nullable: true,
        oneOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'object', additionalProperties: { oneOf: [{ type: 'number' }, { type: 'string' }] } }],
        description: 'a fraction 0..1, or an object such as {"current": 3, "total": 10}',
      },
      Execution: {
        type: 'object',
        properties: {
          executionId: { type: 'string' },
          attempt: { type: 'integer' },
          nodeId: { type: 'string', nullable: true },
          state: { type: 'string', enum: ['PENDING', 'RUNNING', 'DONE', 'ERROR', 'TIMEOUT', 'FAILED', 'LOST', 'KILLED', 'CANCELLED', 'STUCK'] },
          createdAt: { type: 'integer' },
          startedAt: { type: 'integer', nullable: true },
          updatedAt: { type: 'integer' },
          finishedAt: { type: 'integer', nullable: true },
          progress: { $ref: '#/components/schemas/Progress' },
          metrics: { type: 'object', nullable: true, additionalProperties: { type: 'number' } },
          failureReason: { type: 'object', nullable: true, properties: { code: { type: 'string' }, message: { type: 'string' } } },
        },
      },
      ExecutionList: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' }, executions: { type: 'array', items: { $ref: '#/components/schemas/Execution' } } } },
      Call: {
        type: 'object',
        properties: {
          ...callSummaryProperties,
          params: {},
          result: { type: 'string' },
          error: { type: 'object', nullable: true, properties: { code: { type: 'string' }, message: { type: 'string' } } },
          logs: { $ref: '#/components/schemas/CallLogs' },
          attempt: { type: 'integer' },
          workerId: { type: 'string', nullable: true },
          progress: { $ref: '#/components/schemas/Progress' },
          metrics: { type: 'object', nullable: true, additionalProperties: { type: 'number' } },
          timings: { type: 'object', nullable: true, properties: { queuedMs: { type: 'number' }, initMs: { type: 'number' }, runMs: { type: 'number' } } },
          exitCode: { type: 'integer', nullable: true, description: "an exec function's exit status (null: killed by a signal); absent for agent calls" },
          currentExecution: { allOf: [{ $ref: '#/components/schemas/Execution' }], nullable: true },
          nextAttemptAt: { type: 'integer', nullable: true, description: 'a PENDING call waiting out a retry back-off runs no sooner' },
          failures: { type: 'integer', description: "failures of the function charged to its retry policy" },
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
        type: 'object',
        properties: {
          calls: { type: 'array', items: { $ref: '#/components/schemas/Call' } },
          nextCursor: { type: 'string', nullable: true },
          scanned: { type: 'integer', description: 'calls the request looked at (at most FERRY_LIST_SCAN_MAX)' },
        },
      },
      Node: {
        type: 'object',
        properties: {
          nodeId: { type: 'string' },
          driver: { type: 'string', enum: ['docker', 'process', 'fake'] },
          capacity: { type: 'object', properties: { maxContainers: { type: 'integer' }, memoryMb: { type: 'integer' } } },
          running: { type: 'integer' },
          warm: { type: 'array', items: { type: 'object', properties: { runtime: { type: 'string' }, fn: { type: 'string', nullable: true }, busy: { type: 'boolean' } } } },
          images: { type: 'array', items: { type: 'string' } },
          lastHeartbeatAgoMs: { type: 'integer' },
          connectedAt: { type: 'integer' },
        },
      },
      NodeList: { type: 'object', properties: { nodes: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } },
      Health: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          db: { type: 'string' },
          registry: { type: 'string' },
          nodes: { type: 'integer' },
          queued: { type: 'integer' },
          backingOff: { type: 'integer', description: 'calls waiting out a retry back-off' },
          running: { type: 'integer' },
          oldestCall: { type: 'object', nullable: true, properties: { callNum: { type: 'integer' }, createdAt: { type: 'integer' } } },
          refused: {
            type: 'object',
            description: 'inputs each daemon refused since it started, by error code (docs/hostile-inputs.md); null for a daemon that did not answer',
            properties: {
              api: { $ref: '#/components/schemas/RefusedCounts' },
              db: { $ref: '#/components/schemas/RefusedCounts', nullable: true },
              registry: { $ref: '#/components/schemas/RefusedCounts', nullable: true },
            },
          },
        },
      },
      RefusedCounts: { type: 'object', additionalProperties: { type: 'integer' }, example: { BAD_REQUEST: 3, NOT_FOUND: 1 } },
    },
  },
} as const;
