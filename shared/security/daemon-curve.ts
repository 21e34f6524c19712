import { ConfigError, type CurveConfig, type ServerName } from '../config.js';
import type { Logger } from '../logger.js';
import { AllowedKeys } from './allowed-keys.js';
import type { ClientCurve } from './curve-client.js';
import { loadOrCreateKeyPair, type CurveKeyPair } from './curve-keys.js';
import { readPublicKey } from './key-files.js';
import type { ServerCurve } from './curve-server.js';

const KEY_VARIABLE: Record<ServerName, string> = {
  db: 'FERRY_DB_PUBLIC_KEY',
  registry: 'FERRY_REGISTRY_PUBLIC_KEY',
  api: 'FERRY_API_PUBLIC_KEY',
};

/**
 * The key pair of daemon `name` (`db`, `registry`, `api`, `worker-<nodeId>`), made on its first
 * start. Null with FERRY_CURVE=off, after a warning in the daemon's log.
 */
export async function openDaemonKeys(config: CurveConfig, name: string, log: Logger): Promise<CurveKeyPair | null> {
  if (!config.enabled) {
    log.warn(
      { curve: 'off' },
      'FERRY_CURVE=off: ZeroMQ links are NOT authenticated and NOT encrypted; anyone who reaches a port can read and send anything. Use it only for comparisons on a trusted machine',
    );
    return null;
  }
  const { keys, created } = await loadOrCreateKeyPair(config.dir, name);
  if (created) log.info({ publicKey: keys.publicKey, dir: config.dir }, 'CurveZMQ key pair made');
  return keys;
}

/** A server's CURVE side: its keys and the allowed client keys of its folder (close them at stop). */
export async function openServerCurve(config: CurveConfig, keys: CurveKeyPair | null, log: Logger): Promise<ServerCurve | null> {
  if (!keys) return null;
  return { keys, allowed: await AllowedKeys.open(config.dir, log.child({ module: 'allowed-keys' })) };
}

/**
 * How this daemon reaches `server`: the server's public key from its variable, else from the
 * `.pub` file its daemon wrote in this data folder (one host). Throws {@link ConfigError}
 * naming the variable when neither gives one.
 */
export async function clientCurveOf(config: CurveConfig, keys: CurveKeyPair | null, server: ServerName): Promise<ClientCurve | null> {
  if (!keys) return null;
  const serverKey = config.serverKeys[server] ?? (await readPublicKey(config.dir, server));
  if (!serverKey) {
    throw new ConfigError(
      `no CurveZMQ public key for the ${server}: set ${KEY_VARIABLE[server]} (\`ferry node key\` prints it on the ${server}'s host), ` +
        `or share the ${server}'s data folder (${config.dir}/${server}.pub is missing)`,
    );
  }
  return { keys, serverKey };
}
