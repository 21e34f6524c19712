/** The /v1/sessions part of the OpenAPI document (openapi.ts spreads it in). */
import { jsonBody, type RouteError, ok, operation, pageOf, pageParams, pathParam } from './openapi-operation.js';

const killed: RouteError = [409, 'CONFLICT: the session was killed'];
const idParam = pathParam('id', 'session id');

export const sessionPaths = {
  '/v1/sessions': {
    post: operation({
      id: 'createSession',
      tag: 'sessions',
      summary: 'Make a session: calls are appended to it held, and run once it is started',
      responses: { '201': ok('SessionCreated', 'Created') },
    }),
    get: operation({ id: 'listSessions', tag: 'sessions', summary: 'Sessions, newest first, cursor-paginated', parameters: pageParams(), responses: { '200': ok('SessionList') } }),
  },
  '/v1/sessions/{id}': {
    get: operation({ id: 'getSession', tag: 'sessions', summary: 'One session: state, calls per status, total, times', parameters: [idParam], responses: { '200': ok('Session') }, errors: [404] }),
  },
  '/v1/sessions/{id}/calls': {
    post: operation({
      id: 'appendSessionCalls',
      tag: 'sessions',
      summary: 'Append calls (each of any function, `name` or `name@version`): HELD while the session is open, run at once once it is started; answers their ids in order',
      parameters: [idParam],
      requestBody: jsonBody('SessionAppend'),
      responses: { '201': ok('SessionAppended', 'Created') },
      errors: [404, killed, [429, 'QUEUE_FULL: started, and the queue has no room for every call']],
    }),
  },
  '/v1/sessions/{id}/start': {
    post: operation({
      id: 'startSession',
      tag: 'sessions',
      summary: 'Start a session: every call it holds is dispatched, and calls appended later run at once; answers the session',
      parameters: [idParam],
      responses: { '200': ok('Session') },
      errors: [404, killed],
    }),
  },
  '/v1/sessions/{id}/kill': {
    post: operation({
      id: 'killSession',
      tag: 'sessions',
      summary: 'Kill a session: no call of it starts any more, appends are refused; held and pending calls end CANCELLED, running ones KILLED (their containers stopped); answers the session',
      parameters: [idParam],
      responses: { '200': ok('Session') },
      errors: [404],
    }),
  },
  '/v1/sessions/{id}/results': {
    post: operation({
      id: 'nextSessionResults',
      tag: 'sessions',
      summary: 'Make the next result page: every call ended since the last page, in the order the DB saw them end (never by a clock); `page` null when none has',
      parameters: [idParam],
      responses: { '200': ok('SessionResultPage') },
      errors: [404],
    }),
  },
  '/v1/sessions/{id}/results/{page}': {
    get: operation({
      id: 'getSessionResults',
      tag: 'sessions',
      summary: 'A result page made before: the same calls in the same order every time',
      parameters: [idParam, pathParam('page', 'page number, from 1', 'integer')],
      responses: { '200': ok('SessionResultPage') },
      errors: [404],
    }),
  },
};

export const sessionSchemas = {
  SessionCreated: { type: 'object', properties: { id: { type: 'string' } } },
  SessionAppend: {
    type: 'array',
    minItems: 1,
    maxItems: 10000,
    items: { type: 'object', required: ['function'], properties: { function: { type: 'string', description: '`name` or `name@version`' }, params: { description: 'any JSON' } } },
  },
  SessionAppended: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' }, description: 'the new calls, in the order given' } } },
  Session: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      state: { type: 'string', enum: ['open', 'started', 'killed', 'finished'] },
      counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'calls per call status' },
      total: { type: 'integer', description: 'calls appended so far' },
      createdAt: { type: 'integer' },
      startedAt: { type: 'integer', nullable: true },
      finishedAt: { type: 'integer', nullable: true, description: 'when its last call ended, once every call has' },
      killedAt: { type: 'integer', nullable: true },
    },
  },
  SessionList: pageOf('sessions', 'Session'),
  SessionResultPage: {
    type: 'object',
    properties: {
      groupId: { type: 'string' },
      page: { type: 'integer', nullable: true },
      from: { type: 'integer', description: 'finish sequences above this…' },
      to: { type: 'integer', description: '…up to this one' },
      createdAt: { type: 'integer' },
      calls: { type: 'array', items: { $ref: '#/components/schemas/Call' } },
    },
  },
};
