/**
 * How the OpenAPI document's parts are made. A route is documented by one {@link operation} call:
 * its operationId (the client's method of the same name), its answers of success, and the error
 * answers it names beside those every route has, each `{ "error": { "code", "message" } }` (the
 * one Error schema). Built this way the document passes `redocly lint` (recommended rules).
 */

/** A JSON value as the document holds it. */
export type Doc = Record<string, unknown>;

export const schemaRef = (name: string): Doc => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: string): Doc => ({ 'application/json': { schema: schemaRef(schema) } });
/** A JSON answer of schema `schema`. */
export const ok = (schema: string, description = 'OK'): Doc => ({ description, content: json(schema) });
/** A JSON request body of schema `schema`. */
export const jsonBody = (schema: string, required = true): Doc => ({ required, content: json(schema) });

export const pathParam = (name: string, description: string, type: 'string' | 'integer' = 'string'): Doc => ({
  name,
  in: 'path',
  required: true,
  schema: { type },
  description,
});

export const queryParam = (name: string, description: string, schema: Doc = { type: 'string' }): Doc => ({ name, in: 'query', schema, description });

/** `limit` and `cursor` of a cursor-paginated list (`nextCursor` of a page reads the next). */
export const pageParams = (maxLimit = 1000): Doc[] => [
  queryParam('limit', `how many, from 1 to ${maxLimit}`, { type: 'integer', minimum: 1, maximum: maxLimit }),
  queryParam('cursor', 'the `nextCursor` of the page before'),
];

/** The error answers shared by every route that gives them (`components.responses`). */
const errorResponseNames = {
  400: 'BadRequest',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'TooLarge',
  429: 'QueueFull',
} as const;
type SharedStatus = keyof typeof errorResponseNames;
/**
 * An error answer a route names beside the standard ones: a shared status, or a status with what
 * it means on the route (a 409 always says which conflict).
 */
export type RouteError = SharedStatus | readonly [SharedStatus | 409, string];

const errorAnswer = (description: string): Doc => ({ description, content: json('Error') });

export const errorResponses: Record<(typeof errorResponseNames)[SharedStatus], Doc> = {
  BadRequest: errorAnswer('BAD_REQUEST: a bad parameter, name or body (a JSON body is read on every route, so one that does not parse is this too)'),
  Unauthenticated: errorAnswer('UNAUTHENTICATED: no API key, or one unknown, expired or revoked'),
  Forbidden: errorAnswer("FORBIDDEN: the key's role does not allow this route"),
  NotFound: errorAnswer('NOT_FOUND: what the path names does not exist'),
  TooLarge: errorAnswer('BODY_TOO_LARGE: a JSON body over 8 MiB, as sent or once inflated'),
  QueueFull: {
    ...errorAnswer('QUEUE_FULL: the queue has no room; try again after Retry-After'),
    headers: { 'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'integer' } } },
  },
};

export interface OperationSpec {
  /** The operationId; `FerryClient` (packages/client) has a method of this name for the route. */
  id: string;
  tag: string;
  summary: string;
  description?: string;
  parameters?: readonly Doc[];
  requestBody?: Doc;
  /** The answers of success, by status. */
  responses: Record<string, Doc>;
  /**
   * Error answers besides 400 (every route), 401 and 403 (every route that needs a key) and 413
   * (every route taking a body): a status, answered as its shared response says, or a status with
   * what it means on this route.
   */
  errors?: readonly RouteError[];
  /** Open to anyone: no key is asked for (`security: []`), so neither 401 nor 403 is answered. */
  public?: boolean;
}

/** One operation of the document, with its standard error answers. */
export function operation(spec: OperationSpec): Doc {
  const standard: SharedStatus[] = [400, ...(spec.public ? [] : ([401, 403] as const)), ...(spec.requestBody ? [413 as const] : [])];
  const responses: Record<string, Doc> = { ...spec.responses };
  for (const status of standard) responses[status] = { $ref: `#/components/responses/${errorResponseNames[status]}` };
  for (const e of spec.errors ?? []) {
    if (typeof e === 'number') responses[e] = { $ref: `#/components/responses/${errorResponseNames[e]}` };
    else responses[e[0]] = errorAnswer(e[1]);
  }
  return {
    operationId: spec.id,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    ...(spec.public ? { security: [] } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    // Status keys are integer-like: an object keeps them in ascending order whatever the order added.
    responses,
  };
}

/** A paginated list's page: `items` of schema `item` and the cursor of the next page. */
export const pageOf = (items: string, item: string): Doc => ({
  type: 'object',
  required: [items, 'nextCursor'],
  properties: { [items]: { type: 'array', items: schemaRef(item) }, nextCursor: { type: 'string', nullable: true, description: 'null on the last page' } },
});

/** `{ [name]: item[] }` */
export const listOf = (name: string, item: string): Doc => ({ type: 'object', required: [name], properties: { [name]: { type: 'array', items: schemaRef(item) } } });
