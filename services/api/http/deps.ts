import type { DbClient } from '../../../shared/clients/db-client.js';
import type { RegistryClient } from '../../../shared/clients/registry-client.js';
import type { ApiConfig } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { Refusals } from '../../../shared/refusals.js';
import type { Guard } from '../auth/guard.js';
import type { BundleCheckPool } from '../bundle-check/check-pool.js';
import type { CatalogCache } from '../catalog-cache.js';
import type { ApiMetrics } from '../metrics.js';
import type { Batches } from '../groups/batches.js';
import type { Runs } from '../groups/runs.js';
import type { Sessions } from '../groups/sessions.js';
import type { Scheduler } from '../scheduler.js';
import type { SecretBox } from '../secret-box.js';

/** What the HTTP routes work with. */
export interface ApiDeps {
  config: ApiConfig;
  db: DbClient;
  registry: RegistryClient;
  catalog: CatalogCache;
  /** Seals pushed secrets before they are stored. */
  secrets: SecretBox;
  scheduler: Scheduler;
  /** Threads that check uploaded bundles off the event loop. */
  checks: BundleCheckPool;
  log: Logger;
  /** The api's count of refused inputs, shown at /healthz. */
  refusals: Refusals;
  /** What `GET /metrics` shows. */
  metrics: ApiMetrics;
  /** Who may call which route (API keys and roles). */
  guard: Guard;
  /** Runs of N; made from the others when not given. */
  runs?: Runs;
  /** Sessions; made from the others when not given. */
  sessions?: Sessions;
  /** Batch jobs; made from the others when not given. */
  batches?: Batches;
}
