/** The API keys part of the OpenAPI document (openapi.ts spreads it in): /v1/keys, /v1/whoami, how to send a key. */
import { jsonBody, listOf, ok, operation, pathParam } from './openapi-operation.js';

/** Every route takes a key either way, but those marked `security: []` (open to anyone). */
export const security = [{ bearer: [] }, { basic: [] }];

export const securitySchemes = {
  bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer fry_<keyId>_<secret>' },
  basic: { type: 'http', scheme: 'basic', description: 'HTTP Basic with the key as the password and any user name (curl -u :KEY)' },
};

export const keyPaths = {
  '/v1/whoami': {
    get: operation({ id: 'whoami', tag: 'keys', summary: 'The key this request shows: its id, name and role (any valid key)', responses: { '200': ok('Whoami') } }),
  },
  '/v1/keys': {
    get: operation({ id: 'listKeys', tag: 'keys', summary: 'Every API key, revoked and expired ones too, oldest first; never a secret or hash (admin)', responses: { '200': ok('ApiKeyList') } }),
    post: operation({
      id: 'createKey',
      tag: 'keys',
      summary: 'Make an API key; the answer holds the key itself, shown this once (admin)',
      requestBody: jsonBody('ApiKeyRequest'),
      responses: { '201': ok('ApiKeyCreated', 'Created') },
    }),
  },
  '/v1/keys/{id}': {
    delete: operation({
      id: 'revokeKey',
      tag: 'keys',
      summary: 'Revoke a key: it stops working at once on this api and within a second on every other (admin)',
      parameters: [pathParam('id', 'key id')],
      responses: { '200': ok('ApiKey') },
      errors: [404],
    }),
  },
};

const role = { type: 'string', enum: ['admin', 'developer', 'invoker', 'reader'] };

export const keySchemas = {
  ApiKeyRequest: {
    type: 'object',
    required: ['role'],
    properties: {
      role,
      name: { type: 'string', maxLength: 128 },
      expiresInSecs: { type: 'integer', minimum: 1, description: 'it stops working this long from now' },
      expiresAt: { oneOf: [{ type: 'integer' }, { type: 'string', format: 'date-time' }], description: 'it stops working then (epoch ms or ISO 8601); not with expiresInSecs' },
    },
  },
  ApiKey: {
    type: 'object',
    properties: {
      keyId: { type: 'string' },
      name: { type: 'string', nullable: true },
      role,
      createdAt: { type: 'integer' },
      expiresAt: { type: 'integer', nullable: true },
      revokedAt: { type: 'integer', nullable: true },
      createdBy: { type: 'string', nullable: true, description: 'the key that made it; null for the first admin key' },
    },
  },
  ApiKeyCreated: { allOf: [{ $ref: '#/components/schemas/ApiKey' }, { type: 'object', properties: { key: { type: 'string', description: 'fry_<keyId>_<secret>: shown this once' } } }] },
  ApiKeyList: listOf('keys', 'ApiKey'),
  Whoami: {
    type: 'object',
    properties: { keyId: { type: 'string', nullable: true }, name: { type: 'string', nullable: true }, role: { ...role, nullable: true }, auth: { type: 'string', enum: ['on', 'off'] } },
  },
};
