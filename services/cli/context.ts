import type { Command } from 'commander';
import { ApiClient } from './api-client.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface GlobalOptions {
  url: string;
  json: boolean;
}

/** The options every command shares (`--url`, `--json`), wherever they were given. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ url?: string; json?: boolean }>();
  return { url: o.url ?? process.env['FERRY_URL'] ?? DEFAULT_URL, json: o.json === true };
}

export function client(cmd: Command): ApiClient {
  return new ApiClient(globals(cmd).url);
}
