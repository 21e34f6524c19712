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
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachable(this.base, err);
    }
    const text = await res.text();
    if (!res.ok) throw replyError(res.status, text);
    return { status: res.status, body: (text === '' ? null : parseOrText(text)) as T, headers: res.headers };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.requestWithStatus<T>(method, path, body)).body;
  }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a non-JSON reply is shown as text
  }
}

/** An error reply as one line: `CODE: message` from Ferry's JSON error body, else the HTTP status and text. */
export function replyError(status: number, text: string): CliError {
  const e = (parseOrText(text) as ApiError | null)?.error;
  return new CliError(e?.code ? `${e.code}: ${e.message ?? ''}` : `HTTP ${status}: ${text.slice(0, 200)}`);
}

export function unreachable(base: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`cannot reach a Ferry cluster at ${base} (${cause}). Is it up? Start one with \`ferry up\`, or point --url / FERRY_URL at it.`);
}
