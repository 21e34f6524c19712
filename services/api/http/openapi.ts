/**
 * The OpenAPI document of the /v1 surface, /healthz and /metrics, served at /v1/openapi.json. A test checks
 * that it lists exactly the routes the app serves, and another that `redocly lint` (recommended
 * rules) finds nothing in it. A new route is one {@link operation} call in the part of its area.
 */
import { callPaths, callSchemas } from './openapi-calls.js';
import { catalogPaths, catalogSchemas } from './openapi-catalog.js';
import { jobPaths, jobSchemas } from './openapi-jobs.js';
import { keyPaths, keySchemas, security, securitySchemes } from './openapi-keys.js';
import { errorResponses, listOf, ok, operation, pathParam, schemaRef } from './openapi-operation.js';
import { dashboardPaths, dashboardSchemas } from './openapi-dashboard.js';
import { sessionPaths, sessionSchemas } from './openapi-sessions.js';

const tags = [
  { name: 'cluster', description: 'Health, this document, worker nodes' },
  { name: 'keys', description: 'API keys and the key a request shows' },
  { name: 'runtimes', description: 'Container images and how code runs in them' },
  { name: 'functions', description: 'Function versions: pushed bundles with their limits, retry policy and env' },
  { name: 'calls', description: 'Invoking functions, and the calls made: status, result, logs, events, actions' },
  { name: 'dead-letters', description: 'Calls that ended failed with their attempts used up' },
  { name: 'runs', description: 'A function run N times with the same params, as one run' },
  { name: 'sessions', description: 'Calls appended held, started and killed together, results read page by page' },
  { name: 'batches', description: 'Batch jobs: a range cut into batches, one worker call each, then one combiner call' },
];

export const openapi = {
  openapi: '3.0.3',
  info: {
    title: 'Ferry',
    version: '1.0.0',
    description:
      'Ferry Function-as-a-Service cluster: runtimes, functions, calls, nodes. Every route but /healthz and this document needs an API key (Bearer, or HTTP Basic with the key as the password) whose role allows it: admin (everything), developer (push and delete functions, invoke, read), invoker (invoke and move calls, runs, sessions and batches on; read), reader (read). No key or a bad one: 401 UNAUTHENTICATED; a role that does not allow the route: 403 FORBIDDEN. Every error is `{"error": {"code", "message"}}` (docs/error-codes.md lists the codes).',
  },
  servers: [
    {
      url: '{scheme}://{host}:{port}',
      description: "a Ferry cluster's api (by default a local one, as `ferry up` starts it)",
      variables: {
        scheme: { default: 'http', enum: ['http', 'https'] },
        host: { default: '127.0.0.1' },
        port: { default: '3000', description: 'FERRY_HTTP_PORT' },
      },
    },
  ],
  security,
  tags,
  paths: {
    '/healthz': {
      get: operation({
        id: 'health',
        tag: 'cluster',
        public: true,
        summary: 'Liveness and readiness of the api and the daemons it uses (no key needed)',
        responses: { '200': ok('Health'), '503': ok('Health', 'Degraded: the db or the registry does not answer') },
      }),
    },
    '/v1/openapi.json': {
      get: operation({
        id: 'openapi',
        tag: 'cluster',
        public: true,
        summary: 'This document (no key needed)',
        responses: { '200': { description: 'OpenAPI 3 document', content: { 'application/json': { schema: { type: 'object' } } } } },
      }),
    },
    ...keyPaths,
    ...catalogPaths,
    ...callPaths,
    ...jobPaths,
    ...dashboardPaths,
    ...sessionPaths,
    '/v1/nodes': {
      get: operation({ id: 'listNodes', tag: 'cluster', summary: 'Worker nodes: capacity, running calls, warm containers, heartbeat age', responses: { '200': ok('NodeList') } }),
    },
    '/v1/nodes/{nodeId}': {
      get: operation({ id: 'getNode', tag: 'cluster', summary: 'One node', parameters: [pathParam('nodeId', 'node id')], responses: { '200': ok('Node') }, errors: [404] }),
    },
  },
  components: {
    securitySchemes,
    responses: errorResponses,
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string', description: 'a stable code (docs/error-codes.md), such as NOT_FOUND' }, message: { type: 'string' } },
          },
        },
      },
      ...keySchemas,
      ...catalogSchemas,
      ...callSchemas,
      ...jobSchemas,
      ...sessionSchemas,
      ...dashboardSchemas,
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
      NodeList: listOf('nodes', 'Node'),
      Health: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          db: { type: 'string' },
          registry: { type: 'string' },
          scheduling: { type: 'boolean', description: 'this api schedules; false: it stands by (another api daemon of the cluster schedules, and this one passes every other request to it)' },
          nodes: { type: 'integer' },
          queued: { type: 'integer' },
          backingOff: { type: 'integer', description: 'calls waiting out a retry back-off' },
          running: { type: 'integer' },
          oldestCall: { type: 'object', nullable: true, properties: { callNum: { type: 'integer' }, createdAt: { type: 'integer' } } },
          refused: {
            type: 'object',
            description: 'inputs each daemon refused since it started, by error code (docs/hostile-inputs.md); null for a daemon that did not answer',
            properties: {
              api: schemaRef('RefusedCounts'),
              db: { type: 'object', allOf: [schemaRef('RefusedCounts')], nullable: true },
              registry: { type: 'object', allOf: [schemaRef('RefusedCounts')], nullable: true },
            },
          },
        },
      },
      RefusedCounts: { type: 'object', additionalProperties: { type: 'integer' }, example: { BAD_REQUEST: 3, NOT_FOUND: 1 } },
    },
  },
};
