import { CliError } from './cli-error.js';

export interface ApiError {
  error?: { code?: string; message?: string };
}

/**
 * The CLI's view of a cluster: JSON over HTTP, an unreachable cluster and every error reply
 * turned into one readable line.
 */
export class ApiClient {
  readonly base: string;

  constructor(url: string) {
    this.base = url.replace(/\/+$/, '');
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

  /** Like {@link request} but also hands back the HTTP status (invoke answers 200 or 202). */
  async requestWithStatus<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // a non-JSON reply is shown as text
    }
    if (!res.ok) {
      const e = (parsed as ApiError | null)?.error;
      throw new CliError(e?.code ? `${e.code}: ${e.message ?? ''}` : `HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    return { status: res.status, body: parsed as T };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.requestWithStatus<T>(method, path, body)).body;
  }
}

export function unreachable(base: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`cannot reach a Ferry cluster at ${base} (${cause}). Is it up? Start one with \`ferry up\`, or point --url / FERRY_URL at it.`);
}
