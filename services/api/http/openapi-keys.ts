/** The API keys part of the OpenAPI document (openapi.ts spreads it in): /v1/keys, /v1/whoami, how to send a key. */
const json = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });
const ok = (schema: string, description = 'OK') => ({ description, content: json(schema) });
/** The answers of a route that needs a key (every route but two). */
export const authErrors = {
  '401': { description: 'No API key, or one unknown, expired or revoked', content: json('Error') },
  '403': { description: "The key's role does not allow this route", content: json('Error') },
};
const errors = { '400': { description: 'Bad request', content: json('Error') }, ...authErrors };

/** Every route takes a key either way, but those marked `security: []` (open to anyone). */
export const security = [{ bearer: [] }, { basic: [] }];

export const securitySchemes = {
  bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer fry_<keyId>_<secret>' },
  basic: { type: 'http', scheme: 'basic', description: 'HTTP Basic with the key as the password and any user name (curl -u :KEY)' },
};

export const keyPaths = {
  '/v1/whoami': { get: { summary: 'The key this request shows: its id, name and role (any valid key)', responses: { '200': ok('Whoami'), ...errors } } },
  '/v1/keys': {
    get: { summary: 'Every API key, revoked and expired ones too, oldest first; never a secret or hash (admin)', responses: { '200': ok('ApiKeyList'), ...errors } },
    post: {
      summary: 'Make an API key; the answer holds the key itself, shown this once (admin)',
      requestBody: { required: true, content: json('ApiKeyRequest') },
      responses: { '201': ok('ApiKeyCreated', 'Created'), ...errors },
    },
  },
  '/v1/keys/{id}': {
    delete: {
      summary: 'Revoke a key: it stops working at once on this api and within a second on every other (admin)',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'key id' }],
      responses: { '200': ok('ApiKey'), ...errors, '404': { description: 'Not found', content: json('Error') } },
    },
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
  ApiKeyList: { type: 'object', properties: { keys: { type: 'array', items: { $ref: '#/components/schemas/ApiKey' } } } },
  Whoami: {
    type: 'object',
    properties: { keyId: { type: 'string', nullable: true }, name: { type: 'string', nullable: true }, role: { ...role, nullable: true }, auth: { type: 'string', enum: ['on', 'off'] } },
  },
};
