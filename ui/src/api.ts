/** The dashboard's one way to the /v1 API: the key from sessionStorage, JSON in and out. */

const KEY_ITEM = 'ferry.apiKey';

export const storedKey = (): string | null => sessionStorage.getItem(KEY_ITEM);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY_ITEM, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_ITEM);

/** An API error reply (`{ error: { code, message } }`), or a network failure as `NETWORK`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Called when the API answers 401: the key is gone or was never good, so the page asks again. */
let onUnauthenticated: () => void = () => {};
export const whenUnauthenticated = (fn: () => void): void => {
  onUnauthenticated = fn;
};

export const authHeaders = (key = storedKey()): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

/** A query string from the defined, non-empty values of `q` ('' when none). */
export function query(q: Record<string, string | number | boolean | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return new ApiError(res.status, body.error.code, body.error.message ?? body.error.code);
  } catch {
    // not JSON: the status says it
  }
  return new ApiError(res.status, `HTTP_${res.status}`, text || res.statusText);
}

/** A /v1 request; throws {@link ApiError} on any reply but 2xx. `body` FormData goes as multipart, anything else as JSON. */
export async function api<T>(method: string, path: string, body?: unknown, key?: string): Promise<T> {
  const headers: Record<string, string> = authHeaders(key);
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the api did not answer: ${(err as Error).message}`);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && key === undefined) onUnauthenticated();
    throw err;
  }
  return (await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body);
