import { readFile } from 'node:fs/promises';

export interface HttpReply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** The API key each cluster's api was started with, by origin: sent by every helper here. */
const tokens = new Map<string, string>();

/** From now on every request to `url`'s origin carries `key` (a cluster's admin key), until {@link forgetToken}. */
export function useToken(url: string, key: string): void {
  tokens.set(new URL(url).origin, key);
}

export function forgetToken(url: string): void {
  tokens.delete(new URL(url).origin);
}

/** The key requests to `url`'s origin carry, if any. */
export function tokenFor(url: string): string | undefined {
  return tokens.get(new URL(url).origin);
}

/**
 * `headers` with `Authorization: Bearer <the origin's key>` added, unless they hold their own
 * `authorization` (any case); an empty one sends none at all (a request with no key).
 */
export function withAuth(url: string, headers: Record<string, string> = {}): Record<string, string> {
  const own = Object.keys(headers).find((h) => h.toLowerCase() === 'authorization');
  if (own !== undefined) {
    if (headers[own] !== '') return headers;
    const { [own]: _, ...rest } = headers;
    return rest;
  }
  const key = tokenFor(url);
  return key === undefined ? headers : { ...headers, authorization: `Bearer ${key}` };
}

/** fetch with a JSON body (when given) and the reply parsed as JSON when it is JSON; see {@link withAuth} for the key sent. */
export async function http<T = unknown>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply<T>> {
  const res = await fetch(url, {
    method,
    headers: withAuth(url, body === undefined ? headers : { 'content-type': 'application/json', ...headers }),
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return reply<T>(res);
}

/**
 * POSTs a file as multipart field `module` (what `curl -F module=@file` sends), plus fields; a
 * list is sent as the field repeated (`-F env=A=1 -F env=B=2`). See {@link withAuth} for the key sent.
 */
export async function upload<T = unknown>(url: string, file: string, fields: Record<string, string | string[]> = {}, headers: Record<string, string> = {}): Promise<HttpReply<T>> {
  const form = new FormData();
  form.set('module', new Blob([await readFile(file)]), 'bundle.tar.gz');
  for (const [k, v] of Object.entries(fields)) for (const one of typeof v === 'string' ? [v] : v) form.append(k, one);
  return reply<T>(await fetch(url, { method: 'POST', body: form, headers: withAuth(url, headers) }));
}

async function reply<T>(res: Response): Promise<HttpReply<T>> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}
