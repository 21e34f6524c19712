/** The runtimes and functions part of the OpenAPI document (openapi.ts spreads it in). */
import { listOf, ok, operation, pathParam, queryParam, jsonBody } from './openapi-operation.js';

const runtimeName = pathParam('name', 'runtime name');
const functionName = pathParam('name', 'function name');

const pushFields = {
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
};

export const catalogPaths = {
  '/v1/runtimes': {
    get: operation({ id: 'listRuntimes', tag: 'runtimes', summary: 'List runtimes', responses: { '200': ok('RuntimeList') } }),
    post: operation({
      id: 'registerRuntime',
      tag: 'runtimes',
      summary: 'Register or replace a runtime (name defaults to image)',
      requestBody: jsonBody('RuntimeSpec'),
      responses: { '201': ok('Runtime', 'Created') },
    }),
  },
  '/v1/runtimes/{name}': {
    get: operation({ id: 'getRuntime', tag: 'runtimes', summary: 'One runtime', parameters: [runtimeName], responses: { '200': ok('Runtime') }, errors: [404] }),
    delete: operation({
      id: 'deleteRuntime',
      tag: 'runtimes',
      summary: 'Delete a runtime no function uses',
      parameters: [runtimeName],
      responses: { '200': ok('Deleted', 'Deleted') },
      errors: [404, [409, 'IN_USE: a function uses it']],
    }),
  },
  '/v1/functions': {
    get: operation({ id: 'listFunctions', tag: 'functions', summary: 'Latest version of every function', responses: { '200': ok('FunctionList') } }),
  },
  '/v1/functions/{name}': {
    post: operation({
      id: 'pushFunction',
      tag: 'functions',
      summary: 'Push a new version: multipart field `module` (tar.gz, code at its root) and the runtime, as field `runtime` or query `runtime`',
      description:
        'A bad function name (400) or an unknown runtime (404) named in the query, or in a `runtime` field sent before `module`, is answered before the bundle is read. A bundle is checked while it arrives (only files and folders, no absolute paths or `..`, the entry and unpacked-size limits) and refused (400) as soon as a problem is found. A bad `env` or `secret` entry is 400, naming it by its place and name, never by its value.',
      parameters: [functionName, queryParam('runtime', 'the runtime, instead of the `runtime` field; must agree with the field when both are given')],
      requestBody: { required: true, content: { 'multipart/form-data': { schema: pushFields } } },
      responses: { '201': ok('FunctionVersion', 'Created') },
      errors: [404, [413, 'BUNDLE_TOO_LARGE: the bundle is over FERRY_MAX_UPLOAD_BYTES']],
    }),
    get: operation({
      id: 'getFunction',
      tag: 'functions',
      summary: 'A function: `name` (latest) or `name@version`',
      parameters: [pathParam('name', 'name or name@version')],
      responses: { '200': ok('FunctionVersion') },
      errors: [404],
    }),
    delete: operation({
      id: 'deleteFunction',
      tag: 'functions',
      summary: 'Delete every version',
      parameters: [functionName],
      responses: { '200': ok('FunctionDeleted', 'Deleted') },
      errors: [404],
    }),
  },
  '/v1/functions/{name}/versions': {
    get: operation({
      id: 'listFunctionVersions',
      tag: 'functions',
      summary: 'Every version of a function',
      parameters: [functionName],
      responses: { '200': ok('FunctionVersionList') },
      errors: [404],
    }),
  },
};

export const catalogSchemas = {
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
  RuntimeList: listOf('runtimes', 'Runtime'),
  Deleted: { type: 'object', properties: { deleted: { type: 'boolean' } } },
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
  FunctionDeleted: { type: 'object', properties: { deletedVersions: { type: 'integer' } } },
  FunctionList: listOf('functions', 'FunctionVersion'),
  FunctionVersionList: listOf('versions', 'FunctionVersion'),
};
