import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CurveConfig, ServerName } from '../../shared/config.js';

/**
 * Resolves once a daemon may start that is a client of `servers` (each with the promise of its
 * start). ZeroMQ connects lazily and retries, so a client may start before its servers listen;
 * what it cannot do without them is learn their CurveZMQ public keys, which each server writes
 * on its first start. So it waits only for a server whose key is not known yet: on a first
 * start the daemons start in their order, on every later one together.
 */
export async function startsAfter(curve: CurveConfig, servers: [ServerName, Promise<unknown>][]): Promise<void> {
  const known = (server: ServerName): boolean =>
    !curve.enabled || curve.serverKeys[server] !== null || existsSync(path.join(curve.dir, `${server}.pub`));
  await Promise.all(servers.filter(([server]) => !known(server)).map(([, listening]) => listening));
}

/**
 * Watches the api's log lines for node `nodeId` joining: `done` resolves at its `node joined`
 * line, when the api can dispatch calls to it.
 */
export function nodeJoined(nodeId: string): { onLine: (line: string) => void; done: Promise<void> } {
  let joined!: () => void;
  const done = new Promise<void>((resolve) => (joined = resolve));
  const onLine = (line: string): void => {
    if (line.includes('"msg":"node joined"') && line.includes(`"nodeId":${JSON.stringify(nodeId)}`)) joined();
  };
  return { onLine, done };
}
