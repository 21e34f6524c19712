/** The /v1/sessions part of the OpenAPI document (openapi.ts spreads it in). */
import { authErrors } from './openapi-keys.js';

const json = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });
const ok = (schema: string, description = 'OK') => ({ description, content: json(schema) });
const errors = {
  '400': { description: 'Bad request', content: json('Error') },
  '404': { description: 'Not found', content: json('Error') },
  ...authErrors,
};
const conflict = { '409': { description: 'The session was killed', content: json('Error') } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'session id' };

export const sessionPaths = {
  '/v1/sessions': {
    post: { summary: 'Make a session: calls are appended to it held, and run once it is started', responses: { '201': ok('SessionCreated', 'Created'), ...errors } },
    get: {
      summary: 'Sessions, newest first, cursor-paginated',
      parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }],
      responses: { '200': ok('SessionList'), ...errors },
    },
  },
  '/v1/sessions/{id}': { get: { summary: 'One session: state, calls per status, total, times', parameters: [idParam], responses: { '200': ok('Session'), ...errors } } },
  '/v1/sessions/{id}/calls': {
    post: {
      summary: 'Append calls (each of any function, `name` or `name@version`): HELD while the session is open, run at once once it is started; answers their ids in order',
      parameters: [idParam],
      requestBody: { required: true, content: json('SessionAppend') },
      responses: { '201': ok('SessionAppended', 'Created'), ...errors, ...conflict, '429': { description: 'Started, and the queue has no room for every call', content: json('Error') } },
    },
  },
  '/v1/sessions/{id}/start': {
    post: { summary: 'Start a session: every call it holds is dispatched, and calls appended later run at once; answers the session', parameters: [idParam], responses: { '200': ok('Session'), ...errors, ...conflict } },
  },
  '/v1/sessions/{id}/kill': {
    post: {
      summary: 'Kill a session: no call of it starts any more, appends are refused; held and pending calls end CANCELLED, running ones KILLED (their containers stopped); answers the session',
      parameters: [idParam],
      responses: { '200': ok('Session'), ...errors },
    },
  },
  '/v1/sessions/{id}/results': {
    post: {
      summary: "Make the next result page: every call ended since the last page, in the order the DB saw them end (never by a clock); `page` null when none has",
      parameters: [idParam],
      responses: { '200': ok('SessionResultPage'), ...errors },
    },
  },
  '/v1/sessions/{id}/results/{page}': {
    get: {
      summary: 'A result page made before: the same calls in the same order every time',
      parameters: [idParam, { name: 'page', in: 'path', required: true, schema: { type: 'integer' }, description: 'page number, from 1' }],
      responses: { '200': ok('SessionResultPage'), ...errors },
    },
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
  SessionList: { type: 'object', properties: { sessions: { type: 'array', items: { $ref: '#/components/schemas/Session' } }, nextCursor: { type: 'string', nullable: true } } },
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
