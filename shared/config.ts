import path from 'node:path';
import { z } from 'zod';

/**
 * Ferry's configuration in three steps: environment variables (all optional) → defaults with
 * units in their names → one validated, fully filled object. Parsed once at start; a bad value
 * stops the daemon with a message that names the variable.
 */

const MiB = 1024 * 1024;

const intFrom = (min: number) => z.coerce.number().int().min(min);
const endpoint = z.string().regex(/^(tcp|ipc|inproc):\/\/.+/, 'must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555');

const envSchema = z.object({
  FERRY_DATA_DIR: z.string().min(1).default('./data'),
  FERRY_DB_BIND: endpoint.default('tcp://127.0.0.1:5555'),
  FERRY_DB_ADDR: endpoint.default('tcp://127.0.0.1:5555'),
  FERRY_DB_SYNC: z.enum(['true', 'false']).default('false'),
  FERRY_REGISTRY_BIND: endpoint.default('tcp://127.0.0.1:5556'),
  FERRY_REGISTRY_ADDR: endpoint.default('tcp://127.0.0.1:5556'),
  FERRY_MAX_BUNDLE_BYTES: intFrom(1).default(256 * MiB),
  FERRY_REQUEST_TIMEOUT_MS: intFrom(1).default(5_000),
  FERRY_REQUEST_RETRIES: intFrom(0).default(2),
});

export interface DbConfig {
  /** Endpoint the DB daemon binds (ROUTER). */
  bind: string;
  /** LevelDB folder. */
  dir: string;
  /** fsync every write: survives power loss, not just a killed process; slower. */
  sync: boolean;
}

export interface RegistryConfig {
  /** Endpoint the registry daemon binds (ROUTER). */
  bind: string;
  /** Folder of stored bundles. */
  dir: string;
  /** Largest bundle accepted, in bytes. */
  maxBundleBytes: number;
}

export interface ClientConfig {
  dbAddr: string;
  registryAddr: string;
  /** Per-attempt request timeout. */
  requestTimeoutMs: number;
  /** Resends after the first attempt times out. */
  requestRetries: number;
}

export interface FerryConfig {
  dataDir: string;
  db: DbConfig;
  registry: RegistryConfig;
  client: ClientConfig;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads Ferry's configuration from `env`; throws {@link ConfigError} naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FerryConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`bad configuration: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.FERRY_DATA_DIR);
  return {
    dataDir,
    db: { bind: e.FERRY_DB_BIND, dir: path.join(dataDir, 'db'), sync: e.FERRY_DB_SYNC === 'true' },
    registry: {
      bind: e.FERRY_REGISTRY_BIND,
      dir: path.join(dataDir, 'registry'),
      maxBundleBytes: e.FERRY_MAX_BUNDLE_BYTES,
    },
    client: {
      dbAddr: e.FERRY_DB_ADDR,
      registryAddr: e.FERRY_REGISTRY_ADDR,
      requestTimeoutMs: e.FERRY_REQUEST_TIMEOUT_MS,
      requestRetries: e.FERRY_REQUEST_RETRIES,
    },
  };
}
