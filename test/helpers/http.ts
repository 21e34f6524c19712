import { readFile } from 'node:fs/promises';

export interface HttpReply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** fetch with a JSON body (when given: a value, or text or bytes sent as they are) and the reply parsed as JSON when it is JSON. */
export async function http<T = unknown>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return reply<T>(res);
}

/**
 * POSTs a file as multipart field `module` (what `curl -F module=@file` sends), plus fields; a
 * list is sent as the field repeated (`-F env=A=1 -F env=B=2`).
 */
export async function upload<T = unknown>(url: string, file: string, fields: Record<string, string | string[]> = {}): Promise<HttpReply<T>> {
  const form = new FormData();
  form.set('module', new Blob([await readFile(file)]), 'bundle.tar.gz');
  for (const [k, v] of Object.entries(fields)) for (const one of typeof v === 'string' ? [v] : v) form.append(k, one);
  return reply<T>(await fetch(url, { method: 'POST', body: form }));
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
