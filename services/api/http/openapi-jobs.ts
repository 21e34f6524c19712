/** The runs and batch jobs part of the OpenAPI document (openapi.ts spreads it in). */
import { jsonBody, ok, operation, pageOf, pageParams, pathParam } from './openapi-operation.js';

const runId = pathParam('id', 'run id');
const batchId = pathParam('id', 'batch job id');
const nullableInteger = { type: 'integer', nullable: true };
const statusCounts = (of: string) => ({ type: 'object', additionalProperties: { type: 'integer' }, description: `${of} per call status` });

export const jobPaths = {
  '/v1/functions/{name}/runs': {
    post: operation({
      id: 'createRun',
      tag: 'runs',
      summary: 'Run a function `times` times (1..10,000) with the same params, as one run; answered once every call is stored',
      parameters: [pathParam('name', 'function name, optionally `name@version`')],
      requestBody: jsonBody('RunRequest'),
      responses: { '201': ok('RunCreated', 'Created') },
      errors: [404, [429, 'QUEUE_FULL: the queue has no room for every call of the run']],
    }),
  },
  '/v1/runs': {
    get: operation({ id: 'listRuns', tag: 'runs', summary: 'Runs, newest first, cursor-paginated', parameters: pageParams(), responses: { '200': ok('RunList') } }),
  },
  '/v1/runs/{id}': {
    get: operation({ id: 'getRun', tag: 'runs', summary: 'One run: status derived from its counts, start, end, duration', parameters: [runId], responses: { '200': ok('Run') }, errors: [404] }),
  },
  '/v1/runs/{id}/details': {
    get: operation({
      id: 'listRunDetails',
      tag: 'runs',
      summary: "A run's calls, newest first, cursor-paginated like /v1/calls",
      parameters: [runId, ...pageParams()],
      responses: { '200': ok('RunDetailPage') },
      errors: [404],
    }),
  },
  '/v1/runs/{id}/details/{detailId}': {
    get: operation({
      id: 'getRunDetail',
      tag: 'runs',
      summary: 'One call of a run by its place in it (1..times)',
      parameters: [runId, pathParam('detailId', 'place in the run, from 1', 'integer')],
      responses: { '200': ok('RunDetail') },
      errors: [404],
    }),
  },
  '/v1/runs/{id}/cancel': {
    post: operation({
      id: 'cancelRun',
      tag: 'runs',
      summary: 'Cancel every unfinished call of a run (waiting → CANCELLED, running → KILLED); answers the run',
      parameters: [runId],
      responses: { '200': ok('Run') },
      errors: [404],
    }),
  },
  '/v1/batches': {
    post: operation({
      id: 'createBatch',
      tag: 'batches',
      summary: 'Start a batch job (burst-compute): [startIndex, endIndex) cut into batches of batchSize, one worker call each, at most maxParallelism unfinished at once, then one combiner call',
      requestBody: jsonBody('BatchRequest'),
      responses: { '201': ok('BatchCreated', 'Created') },
      errors: [404],
    }),
    get: operation({ id: 'listBatches', tag: 'batches', summary: 'Batch jobs, newest first, cursor-paginated', parameters: pageParams(), responses: { '200': ok('BatchList') } }),
  },
  '/v1/batches/{id}': {
    get: operation({
      id: 'getBatch',
      tag: 'batches',
      summary: 'One batch job: state, counts, elapsed time, the combiner call and its result',
      parameters: [batchId],
      responses: { '200': ok('Batch') },
      errors: [404],
    }),
  },
  '/v1/batches/{id}/results': {
    get: operation({
      id: 'listBatchResults',
      tag: 'batches',
      summary: "A batch job's partial results (the worker calls' results, dropped after resultTtlSecs), the latest made first, cursor-paginated",
      parameters: [batchId, ...pageParams()],
      responses: { '200': ok('BatchResultPage') },
      errors: [404],
    }),
  },
  '/v1/batches/{id}/cancel': {
    post: operation({
      id: 'cancelBatch',
      tag: 'batches',
      summary: 'Cancel a batch job: its unfinished worker calls are cancelled and no combiner runs; answers the job',
      parameters: [batchId],
      responses: { '200': ok('Batch') },
      errors: [404],
    }),
  },
};

export const jobSchemas = {
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
      counts: statusCounts('calls'),
      submittedAt: { type: 'integer' },
      start: { type: 'integer', nullable: true, description: 'when its first call started, epoch ms' },
      end: { type: 'integer', nullable: true, description: 'when its last call ended, once all have' },
      duration: { type: 'integer', nullable: true, description: 'end − start, ms' },
      cancelledAt: nullableInteger,
    },
  },
  RunList: pageOf('runs', 'Run'),
  RunDetail: {
    type: 'object',
    properties: {
      detailId: { type: 'integer' },
      callId: { type: 'string' },
      status: { type: 'string' },
      submittedAt: { type: 'integer' },
      start: nullableInteger,
      end: nullableInteger,
      duration: nullableInteger,
    },
  },
  RunDetailPage: pageOf('details', 'RunDetail'),
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
      counts: statusCounts('worker calls'),
      startTime: { type: 'string', format: 'date-time' },
      elapsedSecs: { type: 'number' },
      combinerCallId: { type: 'string', nullable: true },
      combinerResult: { description: "the combiner's result once it is done (any JSON); null before" },
      error: { type: 'string', nullable: true, description: 'why it failed without a combiner' },
    },
  },
  BatchList: pageOf('batches', 'Batch'),
  BatchResult: {
    type: 'object',
    properties: {
      batchId: { type: 'integer' },
      startIndex: { type: 'integer' },
      endIndex: { type: 'integer' },
      status: { type: 'string' },
      result: { description: "the worker call's result (any JSON); null while unfinished and once expired" },
      expired: { type: 'boolean' },
    },
  },
  BatchResultPage: pageOf('results', 'BatchResult'),
};
