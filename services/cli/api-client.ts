import { CliError } from './cli-error.js';
import type { Credential } from './credentials.js';

export interface ApiError {
  error?: { code?: string; message?: string };
}

/**
 * The CLI's view of a cluster: JSON over HTTP, an unreachable cluster and every error reply
 * turned into one readable line.
 */
export class ApiClient {
  readonly base: string;

  /** `credential`: the API key sent with every request, if any. */
  constructor(
    url: string,
    readonly credential: Credential | null = null,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  /** `extra` with the API key's `Authorization` header, when there is a key. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.credential ? { ...extra, authorization: `Bearer ${this.credential.token}` } : extra;
  }

  /** An error reply as one line, saying how to give a key when the cluster wants one. */
  error(status: number, text: string): CliError {
    return replyError(status, text, this.credential);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /**
   * Like {@link request} but also hands back the HTTP status (invoke answers 200 or 202) and the
   * reply's headers (`Idempotency-Replayed`); `headers` are sent with the request.
   */
  async requestWithStatus<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: this.headers(body === undefined ? headers : { ...headers, 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    const text = await res.text();
    if (!res.ok) throw this.error(res.status, text);
    return { status: res.status, body: (text === '' ? null : parseOrText(text)) as T, headers: res.headers };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.requestWithStatus<T>(method, path, body)).body;
  }
}

export function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a non-JSON reply is shown as text
  }
}

const GIVE_A_KEY = 'give one with --token KEY, FERRY_TOKEN=KEY or `ferry login` (a local cluster keeps its first admin key in <data dir>/admin.key)';

/**
 * An error reply as one line: `CODE: message` from Ferry's JSON error body, else the HTTP status
 * and text. A refused or missing key (401) says how to give one and where the key sent came from;
 * a key whose role falls short (403) says so.
 */
export function replyError(status: number, text: string, credential: Credential | null = null): CliError {
  const e = (parseOrText(text) as ApiError | null)?.error;
  const line = e?.code ? `${e.code}: ${e.message ?? ''}` : `HTTP ${status}: ${text.slice(0, 200)}`;
  if (status === 401) {
    const sent = credential ? `the cluster refused the key from ${credential.source}` : 'this cluster needs an API key and none was given';
    return new CliError(`${line}\n${sent}: ${GIVE_A_KEY}`);
  }
  if (status === 403) return new CliError(`${line}\nuse a key whose role allows this (an admin makes one with \`ferry keys create --role …\`)`);
  return new CliError(line);
}

export function unreachable(base: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`cannot reach a Ferry cluster at ${base} (${cause}). Is it up? Start one with \`ferry up\`, or point --url / FERRY_URL at it.`);
}
