import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { DEFAULT_URL } from './cluster-url.js';
import { resolveCredential } from './credentials.js';

export interface GlobalOptions {
  url: string;
  json: boolean;
  /** `--token`, when given. */
  token: string | undefined;
}

/** The options every command shares (`--url`, `--json`, `--token`), wherever they were given. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ url?: string; json?: boolean; token?: string }>();
  return { url: o.url ?? process.env['FERRY_URL'] ?? DEFAULT_URL, json: o.json === true, token: o.token };
}

/** The cluster the command talks to, with the API key found for it ({@link resolveCredential}). */
export function client(cmd: Command): ApiClient {
  const { url, token } = globals(cmd);
  return new ApiClient(url, resolveCredential(url, token));
}
