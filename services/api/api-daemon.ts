import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import path from 'node:path';
import { createDbClient } from '../../shared/clients/db-client.js';
import { RegistryClient } from '../../shared/clients/registry-client.js';
import type { FerryConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { Refusals } from '../../shared/refusals.js';
import { clientCurveOf, openDaemonKeys, openServerCurve } from '../../shared/security/daemon-curve.js';
import { bootstrapAdminKey } from './auth/bootstrap.js';
import { Guard } from './auth/guard.js';
import { BundleCheckPool } from './bundle-check/check-pool.js';
import { CatalogCache } from './catalog-cache.js';
import { createApp } from './http/app.js';
import { invokeRoute } from './http/invoke-route.js';
import { schedulerGate } from './http/scheduler-gate.js';
import { Batches } from './groups/batches.js';
import { Runs } from './groups/runs.js';
import { Sessions } from './groups/sessions.js';
import { ApiMetrics } from './metrics.js';
import { Scheduler } from './scheduler.js';
import { SchedulingLease } from './scheduling-lease.js';
import { SecretBox } from './secret-box.js';

export interface ApiDaemon {
  url: string;
  workersEndpoint: string;
  close(): Promise<void>;
}

/** The api: HTTP in front, the scheduler behind, the DB and registry as its clients. */
export async function startApiDaemon(config: FerryConfig, log: Logger): Promise<ApiDaemon> {
  // Uploads stream to the registry now; an older release spooled them here.
  await rm(path.join(config.dataDir, 'api-uploads'), { recursive: true, force: true });
  const keys = await openDaemonKeys(config.curve, 'api', log);
  const db = createDbClient(config.client, await clientCurveOf(config.curve, keys, 'db'));
  const registry = new RegistryClient(config.client, await clientCurveOf(config.curve, keys, 'registry'));
  const curve = await openServerCurve(config.curve, keys, log);
  const catalog = new CatalogCache(db);
  const secrets = await SecretBox.load(config.dataDir, log);
  // One count of what the api refused, on HTTP and on the worker socket alike.
  const refusals = new Refusals(log.child({ module: 'refusals' }));
  if (!config.api.auth) {
    log.warn({ FERRY_AUTH: 'off' }, 'authentication is OFF: every HTTP route is open to anyone who can reach the api, with no key');
  } else {
    await mkdir(config.dataDir, { recursive: true });
    await bootstrapAdminKey(db, config.api.adminKeyFile, log.child({ module: 'auth' }));
  }
  const guard = new Guard(config.api.auth, db);
  const scheduler = new Scheduler({ config: config.api, db, catalog, secrets, refusals, curve, heartbeatMs: config.api.heartbeatMs, log: log.child({ module: 'scheduler' }) });
  const metrics = new ApiMetrics(scheduler, refusals);
  const workersEndpoint = await scheduler.start();
  const checks = new BundleCheckPool(log.child({ module: 'bundle-check' }));
  checks.warm();
  const runs = new Runs({ db, scheduler, log });
  const sessions = new Sessions({ db, scheduler, log });
  const batches = new Batches({ db, scheduler, log });
  const deps = { config: config.api, db, registry, catalog, secrets, scheduler, checks, guard, runs, sessions, batches, refusals, metrics, log: log.child({ module: 'http' }) };
  const app = createApp(deps);
  const invoke = invokeRoute(deps);
  // Taking over: the calls from the store first, then what an api that died left half made
  // (runs, sessions being started, batch jobs), which carry on from the store.
  const lease: SchedulingLease = new SchedulingLease({
    db,
    ttlMs: config.api.leaseMs,
    log: log.child({ module: 'lease' }),
    onGained: async (epoch) => {
      await scheduler.activate(epoch, () => lease.canSchedule);
      runs.resume().catch((err: unknown) => log.error({ err }, 'could not look for runs being made'));
      sessions.resume().catch((err: unknown) => log.error({ err }, 'could not look for sessions being started'));
      batches.resume().catch((err: unknown) => log.error({ err }, 'could not look for unfinished batch jobs'));
    },
    onLostToAnother: (holder) => {
      // Its queue and calls in flight are the new scheduler's now (it recovers them from the
      // store): this process stops at once rather than dispatch beside it.
      log.fatal({ holder }, 'another api took over the scheduling; exiting');
      process.exit(3);
    },
  });
  const server = createServer(
    schedulerGate(
      (req, res) => {
        if (!invoke(req, res)) app(req, res);
      },
      {
        scheduling: () => scheduler.isActive,
        settled: () => lease.settled(),
        schedulerUrl: () => lease.leaderUrl,
        log: log.child({ module: 'scheduler-gate' }),
      },
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.api.httpPort, config.api.httpHost, () => resolve());
  });
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.httpPort;
  const url = `http://${config.api.httpHost}:${port}`;
  // Where the other api reaches this one, and what names it among the cluster's apis: the same
  // api restarted holds the lease again at once. A wildcard bind names no host: its host name does.
  const wildcard = config.api.httpHost === '0.0.0.0' || config.api.httpHost === '::';
  const advertised = config.api.url ?? (wildcard ? `http://${hostname()}:${port}` : url);
  await lease.start(advertised);
  log.info(
    { url, endpoint: workersEndpoint, publicKey: keys?.publicKey ?? null, scheduling: scheduler.isActive, schedulerUrl: lease.leaderUrl },
    'listening',
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    workersEndpoint,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        batches.close();
        await checks.close();
        await lease.stop();
        await scheduler.close();
        curve?.allowed.close();
        await db.close();
        await registry.close();
      })()),
  };
}
