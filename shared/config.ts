import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { adminKeyFile } from './files/admin-key-file.js';
import { issuesText } from './protocol/issues-text.js';
import { curveDirOf } from './security/key-files.js';
import { isCurveKey } from './security/z85.js';
import { HEARTBEAT_INTERVAL_MS, driverKindSchema, type DriverKind } from './protocol/worker-messages.js';

/**
 * Ferry's configuration in three steps: environment variables (all optional) → defaults with
 * units in their names → one validated, fully filled object. Parsed once at start; a bad value
 * stops the daemon with a message that names the variable.
 */

const MiB = 1024 * 1024;

const intFrom = (min: number) => z.coerce.number().int().min(min);
/** Longest fake delay: past a day every call times out anyway (a function's timeout is at most a day). */
const MAX_FAKE_DELAY_MS = 24 * 3600_000;

/** `25` (always 25 ms) or `5-50` (drawn uniformly per call, both ends included). */
const delayRange = z
  .string()
  .regex(/^\d{1,9}(-\d{1,9})?$/, 'must be a number of ms such as 25, or a range such as 5-50')
  .transform((text): DelayRangeMs => {
    const [minMs = 0, maxMs = minMs] = text.split('-').map(Number);
    return { minMs, maxMs };
  })
  .refine((r) => r.minMs <= r.maxMs, 'a range must not end below its start')
  .refine((r) => r.maxMs <= MAX_FAKE_DELAY_MS, `must be at most ${MAX_FAKE_DELAY_MS} ms`);
/** A server's CurveZMQ public key; left empty (as an env file may), unset. */
const serverKey = z
  .string()
  .transform((text) => text.trim())
  .refine((text) => text === '' || isCurveKey(text), 'must be a CurveZMQ public key: 40 Z85 characters, as `ferry node key` prints them')
  .transform((text) => (text === '' ? null : text))
  .default(null);
/** A metrics port: a number (0: a free one, as tests use), or `off` for no metrics endpoint. */
const metricsPort = z.union([z.literal('off').transform(() => null), intFrom(0).max(65_535)]);
const endpoint = z.string().regex(/^(tcp|ipc|inproc):\/\/.+/, 'must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555');

const envSchema = z.object({
  FERRY_DATA_DIR: z.string().min(1).default('./data'),
  FERRY_DB_BIND: endpoint.default('tcp://127.0.0.1:5555'),
  FERRY_DB_ADDR: endpoint.default('tcp://127.0.0.1:5555'),
  FERRY_DB_SYNC: z.enum(['true', 'false']).default('false'),
  FERRY_STORE: z
    .string()
    .regex(/^(level|postgres(ql)?:\/\/.+)$/, 'must be level or a postgres:// URL such as postgres://ferry:secret@10.0.0.10:5432/ferry')
    .default('level'),
  FERRY_CALL_RETENTION_MS: intFrom(0).default(7 * 24 * 3600_000),
  FERRY_RETENTION_SCAN_MS: intFrom(1).default(60_000),
  FERRY_LIST_SCAN_MAX: intFrom(1).default(5_000),
  FERRY_LIST_SCAN_MS: intFrom(1).default(6),
  FERRY_REGISTRY_BIND: endpoint.default('tcp://127.0.0.1:5556'),
  FERRY_REGISTRY_ADDR: endpoint.default('tcp://127.0.0.1:5556'),
  FERRY_MAX_BUNDLE_BYTES: intFrom(1).default(256 * MiB),
  FERRY_REQUEST_TIMEOUT_MS: intFrom(1).default(5_000),
  FERRY_REQUEST_RETRIES: intFrom(0).default(2),
  FERRY_WORKERS_BIND: endpoint.default('tcp://127.0.0.1:5557'),
  FERRY_WORKERS_ADDR: z
    .string()
    .default('tcp://127.0.0.1:5557')
    .transform((list) => list.split(',').map((one) => one.trim()).filter((one) => one !== ''))
    .pipe(z.array(endpoint).min(1, 'must name at least one api endpoint')),
  FERRY_HEARTBEAT_MS: intFrom(50).max(60_000).default(HEARTBEAT_INTERVAL_MS),
  FERRY_NODE_ID: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-"')
    .default(os.hostname().replace(/[^a-zA-Z0-9._-]/g, '-').slice(0, 64) || 'node'),
  FERRY_MAX_CONTAINERS: intFrom(1).default(4),
  FERRY_SANDBOXES_PER_MINIWORKER: intFrom(1).default(16),
  FERRY_NODE_MEMORY_MB: intFrom(64).default(Math.floor(os.totalmem() / (1024 * 1024) / 2)),
  FERRY_PRELOAD: z.enum(['none', 'runtime', 'function']).default('function'),
  FERRY_KEEP_ALIVE_MS: intFrom(0).default(10 * 60_000),
  FERRY_DRIVER: z.enum(['auto', ...driverKindSchema.options]).default('auto'),
  FERRY_FAKE_DELAY_MS: delayRange.default({ minMs: 0, maxMs: 0 }),
  FERRY_OUTPUT_CAP_BYTES: intFrom(1024).default(1024 * 1024),
  FERRY_PIDS_LIMIT: intFrom(8).default(256),
  FERRY_TMP_MB: intFrom(1).default(64),
  FERRY_MB_PER_CPU: intFrom(0).default(1024),
  FERRY_SANDBOX_USER: z
    .string()
    .regex(/^\d{1,10}:\d{1,10}$/, 'must be uid:gid, such as 65534:65534')
    .transform((text): SandboxUser => {
      const [uid = 0, gid = 0] = text.split(':').map(Number);
      return { uid, gid };
    })
    .default({ uid: 65534, gid: 65534 }),
  FERRY_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  FERRY_DB_METRICS_PORT: metricsPort.default(3001),
  FERRY_REGISTRY_METRICS_PORT: metricsPort.default(3002),
  FERRY_WORKER_METRICS_PORT: metricsPort.default(3003),
  FERRY_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  FERRY_HTTP_PORT: intFrom(0).default(3000),
  FERRY_API_URL: z.string().url().optional(),
  FERRY_SCHEDULER_LEASE_MS: intFrom(500).default(3_000),
  FERRY_QUEUE_MAX: intFrom(1).default(10_000),
  FERRY_MAX_UPLOAD_BYTES: intFrom(1).default(256 * MiB),
  FERRY_MAX_BUNDLE_ENTRIES: intFrom(1).default(10_000),
  FERRY_MAX_UNPACKED_BYTES: intFrom(1).default(1024 * MiB),
  FERRY_DEFAULT_TIMEOUT_MS: intFrom(1).default(60_000),
  FERRY_DEFAULT_MEMORY_MB: intFrom(16).default(256),
  FERRY_MAX_ATTEMPTS: intFrom(1).default(3),
  FERRY_DISPATCH_AHEAD: intFrom(0).default(1),
  FERRY_IDEMPOTENCY_TTL_MS: intFrom(1).default(24 * 3600_000),
  FERRY_CALL_WRITE_HOLD_MS: intFrom(0).default(25),
  FERRY_AUTH: z.enum(['on', 'off']).default('on'),
  FERRY_CURVE: z.enum(['on', 'off']).default('on'),
  FERRY_DB_PUBLIC_KEY: serverKey,
  FERRY_REGISTRY_PUBLIC_KEY: serverKey,
  FERRY_API_PUBLIC_KEY: serverKey,
});

/**
 * Where a daemon without an HTTP port of its own serves `GET /metrics` (no key asked for, so
 * loopback by default). Port 0 picks a free one, named in the daemon's `listening` line.
 */
export interface MetricsBind {
  host: string;
  port: number;
  /** The variable that set the port, named when it cannot be bound. */
  variable: string;
}

export interface DbConfig {
  /** Endpoint the DB daemon binds (ROUTER). */
  bind: string;
  /** Where the state is kept: `level` (LevelDB in `dir`, one host) or a `postgres://` URL (shared by several api hosts). */
  store: string;
  /** LevelDB folder. */
  dir: string;
  /** fsync every write: survives power loss, not just a killed process; slower. */
  sync: boolean;
  /** An ended call is removed this long after it finished, in ms; 0 keeps calls forever. */
  callRetentionMs: number;
  /** Time between retention passes, in ms (one also runs at start). */
  retentionScanMs: number;
  /** Most calls one list request reads when its filters have no index (a text search): the page then says where to go on. */
  listScanMax: number;
  /** Most milliseconds one such request reads for. */
  listScanMs: number;
  /** Where `GET /metrics` is served; null: nowhere. */
  metrics: MetricsBind | null;
}

export interface RegistryConfig {
  /** Endpoint the registry daemon binds (ROUTER). */
  bind: string;
  /** Folder of stored bundles. */
  dir: string;
  /** Largest bundle accepted, in bytes. */
  maxBundleBytes: number;
  /** Where `GET /metrics` is served; null: nowhere. */
  metrics: MetricsBind | null;
}

export interface ClientConfig {
  dbAddr: string;
  registryAddr: string;
  /** Per-attempt request timeout. */
  requestTimeoutMs: number;
  /** Resends after the first attempt times out. */
  requestRetries: number;
}

export type PreloadPolicy = 'none' | 'runtime' | 'function';

/** A delay in ms, drawn uniformly between both ends (included) each time; equal ends: fixed. */
export interface DelayRangeMs {
  minMs: number;
  maxMs: number;
}

/** The user a call runs as, by number (the image need not know it). */
export interface SandboxUser {
  uid: number;
  gid: number;
}

/** What every call's sandbox is held to, beside its function's own timeout and memory. */
export interface SandboxLimits {
  /** Most processes (and threads) in one sandbox. */
  pidsLimit: number;
  /** Size of the sandbox's writable /tmp, in MiB: the only place a function can write. */
  tmpMb: number;
  /** A call gets one CPU per this many MiB of its memory (clamped to 0.05 and the host's cores); 0: no CPU limit. */
  mbPerCpu: number;
  user: SandboxUser;
}

export interface WorkerConfig {
  nodeId: string;
  /** The api daemons to serve (one ZeroMQ link each): every one hears this node, the scheduling one sends it calls. */
  apiAddrs: string[];
  /** Heartbeat interval to the api: an api silent for HEARTBEAT_LIVENESS of them makes the node reconnect. The api's own, on every node. */
  heartbeatMs: number;
  /** Node-local folder: bundle cache, agent sockets. */
  dir: string;
  /** Most containers (and so concurrent calls) on this node. */
  maxContainers: number;
  /** Most sandboxes one miniworker process hosts: a node runs ceil(maxContainers / this) of them. */
  sandboxesPerMiniworker: number;
  /** Memory budget of all containers on this node, in MiB. */
  memoryMb: number;
  preload: PreloadPolicy;
  /** An idle warm container is removed after this long. */
  keepAliveMs: number;
  driver: 'auto' | DriverKind;
  /** Fake driver only: how long each call "runs" before it ends DONE echoing its params. */
  fakeDelay: DelayRangeMs;
  /** Stdout and stderr of a call are each cut at this many bytes (and marked truncated). */
  outputCapBytes: number;
  sandbox: SandboxLimits;
  /** Where `GET /metrics` is served; null: nowhere. */
  metrics: MetricsBind | null;
}

export interface ApiConfig {
  httpHost: string;
  /** 0 picks a free port (tests). */
  httpPort: number;
  /** Where workers connect (ROUTER). */
  workersBind: string;
  /** Where the other api daemons reach this one's HTTP (a standby passes requests to the scheduling api); null: its own host and port. */
  url: string | null;
  /** How long the scheduling lease lasts unrenewed: past it, another api takes over the scheduling. */
  leaseMs: number;
  /** Heartbeat interval on the worker socket: a node silent for HEARTBEAT_LIVENESS of them is lost and its calls go on elsewhere. */
  heartbeatMs: number;
  /** Calls waiting for capacity; past it invoke answers 429. */
  queueMax: number;
  maxUploadBytes: number;
  maxBundleEntries: number;
  maxUnpackedBytes: number;
  /** Limits of a function pushed without its own. */
  defaultTimeoutMs: number;
  defaultMemoryMb: number;
  /** A call whose node is lost is tried at most this many times in all. */
  maxAttempts: number;
  /**
   * Calls per container a node is sent beyond those it can run at once; they wait in its broker,
   * so a container that finishes starts the next call without a round trip to the api.
   */
  dispatchAhead: number;
  /** An `Idempotency-Key` answers the call it made for this long. */
  idempotencyTtlMs: number;
  /**
   * How long a call's writes wait for what follows, to go with it: a sync call's create (from its
   * dispatch) for its start or end, a RUNNING write for the end; 0: each is written at once.
   */
  callWriteHoldMs: number;
  /** Every HTTP route but /healthz and /v1/openapi.json needs an API key with the right role; off: none does. */
  auth: boolean;
  /** Where the first admin key is written (`<data dir>/admin.key`) when the api makes it. */
  adminKeyFile: string;
}

/** The daemons a client reaches over ZeroMQ. */
export type ServerName = 'db' | 'registry' | 'api';

export interface CurveConfig {
  /** CurveZMQ on every ZeroMQ link (authenticated, encrypted, allowlisted); off only for comparisons. */
  enabled: boolean;
  /** Key files and the allowlist: `<dataDir>/curve`. */
  dir: string;
  /** Servers' public keys given in the environment; null: read from `<dir>/<server>.pub`. */
  serverKeys: Record<ServerName, string | null>;
}

export interface FerryConfig {
  dataDir: string;
  curve: CurveConfig;
  api: ApiConfig;
  db: DbConfig;
  registry: RegistryConfig;
  client: ClientConfig;
  /** Where workers connect on the api. */
  workersBind: string;
  worker: WorkerConfig;
}

// Its own module so the CLI finds a local cluster's key without loading the config's schemas.
export { adminKeyFile };

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
    throw new ConfigError(`bad configuration: ${issuesText(parsed.error, 'environment')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.FERRY_DATA_DIR);
  const metricsAt = (variable: `FERRY_${'DB' | 'REGISTRY' | 'WORKER'}_METRICS_PORT`): MetricsBind | null => {
    const port = e[variable];
    return port === null ? null : { host: e.FERRY_METRICS_HOST, port, variable };
  };
  return {
    dataDir,
    curve: {
      enabled: e.FERRY_CURVE === 'on',
      dir: curveDirOf(dataDir),
      serverKeys: { db: e.FERRY_DB_PUBLIC_KEY, registry: e.FERRY_REGISTRY_PUBLIC_KEY, api: e.FERRY_API_PUBLIC_KEY },
    },
    db: {
      bind: e.FERRY_DB_BIND,
      store: e.FERRY_STORE,
      dir: path.join(dataDir, 'db'),
      sync: e.FERRY_DB_SYNC === 'true',
      callRetentionMs: e.FERRY_CALL_RETENTION_MS,
      retentionScanMs: e.FERRY_RETENTION_SCAN_MS,
      listScanMax: e.FERRY_LIST_SCAN_MAX,
      listScanMs: e.FERRY_LIST_SCAN_MS,
      metrics: metricsAt('FERRY_DB_METRICS_PORT'),
    },
    registry: {
      bind: e.FERRY_REGISTRY_BIND,
      dir: path.join(dataDir, 'registry'),
      maxBundleBytes: e.FERRY_MAX_BUNDLE_BYTES,
      metrics: metricsAt('FERRY_REGISTRY_METRICS_PORT'),
    },
    client: {
      dbAddr: e.FERRY_DB_ADDR,
      registryAddr: e.FERRY_REGISTRY_ADDR,
      requestTimeoutMs: e.FERRY_REQUEST_TIMEOUT_MS,
      requestRetries: e.FERRY_REQUEST_RETRIES,
    },
    workersBind: e.FERRY_WORKERS_BIND,
    api: {
      httpHost: e.FERRY_HTTP_HOST,
      httpPort: e.FERRY_HTTP_PORT,
      workersBind: e.FERRY_WORKERS_BIND,
      url: e.FERRY_API_URL ?? null,
      leaseMs: e.FERRY_SCHEDULER_LEASE_MS,
      heartbeatMs: e.FERRY_HEARTBEAT_MS,
      queueMax: e.FERRY_QUEUE_MAX,
      maxUploadBytes: e.FERRY_MAX_UPLOAD_BYTES,
      maxBundleEntries: e.FERRY_MAX_BUNDLE_ENTRIES,
      maxUnpackedBytes: e.FERRY_MAX_UNPACKED_BYTES,
      defaultTimeoutMs: e.FERRY_DEFAULT_TIMEOUT_MS,
      defaultMemoryMb: e.FERRY_DEFAULT_MEMORY_MB,
      maxAttempts: e.FERRY_MAX_ATTEMPTS,
      dispatchAhead: e.FERRY_DISPATCH_AHEAD,
      idempotencyTtlMs: e.FERRY_IDEMPOTENCY_TTL_MS,
      callWriteHoldMs: e.FERRY_CALL_WRITE_HOLD_MS,
      auth: e.FERRY_AUTH === 'on',
      adminKeyFile: adminKeyFile(dataDir),
    },
    worker: {
      nodeId: e.FERRY_NODE_ID,
      apiAddrs: e.FERRY_WORKERS_ADDR,
      heartbeatMs: e.FERRY_HEARTBEAT_MS,
      dir: path.join(dataDir, `worker-${e.FERRY_NODE_ID}`),
      maxContainers: e.FERRY_MAX_CONTAINERS,
      sandboxesPerMiniworker: e.FERRY_SANDBOXES_PER_MINIWORKER,
      memoryMb: e.FERRY_NODE_MEMORY_MB,
      preload: e.FERRY_PRELOAD,
      keepAliveMs: e.FERRY_KEEP_ALIVE_MS,
      driver: e.FERRY_DRIVER,
      fakeDelay: e.FERRY_FAKE_DELAY_MS,
      outputCapBytes: e.FERRY_OUTPUT_CAP_BYTES,
      sandbox: { pidsLimit: e.FERRY_PIDS_LIMIT, tmpMb: e.FERRY_TMP_MB, mbPerCpu: e.FERRY_MB_PER_CPU, user: e.FERRY_SANDBOX_USER },
      metrics: metricsAt('FERRY_WORKER_METRICS_PORT'),
    },
  };
}
