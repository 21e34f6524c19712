import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { nanoid } from 'nanoid';
import path from 'node:path';
import { RegistryClient } from '../../../shared/clients/registry-client.js';
import type { ClientConfig, CurveConfig, WorkerConfig } from '../../../shared/config.js';
import { callLogger, type Logger } from '../../../shared/logger.js';
import { clientCurveOf, openDaemonKeys } from '../../../shared/security/daemon-curve.js';
import { runtimeOnWireSchema, type Dispatch, type DriverKind } from '../../../shared/protocol/worker-messages.js';
import { ApiLinks } from './api-links.js';
import { Broker } from './broker.js';
import { BundleCache } from './bundle-cache.js';
import { CallErrorCode } from '../call-task.js';
import { chooseDriver } from '../drivers/create-driver.js';
import type { RuntimeSpec } from '../drivers/driver.js';
import { FunctionPreparer, PrepareError } from './function-preparer.js';
import { startMetricsServer, type MetricsServer } from '../../../shared/metrics/metrics-server.js';
import type { WorkerToApi } from '../../../shared/protocol/worker-messages.js';
import { WorkerMetrics } from '../metrics.js';

/** How the start-up log line names each driver. */
const DRIVER_NAMES: Record<DriverKind, string> = { docker: 'Docker', process: 'process', fake: 'fake' };

export interface WorkerDaemon {
  nodeId: string;
  driver: string;
  close(): Promise<void>;
}

/**
 * The worker daemon of one node: links to the api, prepares each dispatched function once
 * (bundle, image), and hands calls to its broker's miniworkers.
 */
export async function startWorkerDaemon(config: WorkerConfig, client: ClientConfig, curveConfig: CurveConfig, log: Logger): Promise<WorkerDaemon> {
  const keys = await openDaemonKeys(curveConfig, `worker-${config.nodeId}`, log);
  const apiCurve = await clientCurveOf(curveConfig, keys, 'api');
  const registryCurve = await clientCurveOf(curveConfig, keys, 'registry');
  await mkdir(path.join(config.dir, 'sock'), { recursive: true });
  const driverSettings = { nodeId: config.nodeId, dir: config.dir, fakeDelay: config.fakeDelay };
  const driver = await chooseDriver(config.driver, driverSettings, log);
  log.info(
    { driver: driver.kind, isolation: driver.isolation, nodeId: config.nodeId, ...(driver.kind === 'fake' ? { fakeDelay: config.fakeDelay } : {}) },
    `using the ${DRIVER_NAMES[driver.kind]} driver: ${driver.isolation}`,
  );
  if (driver.notEnforced.length > 0) {
    log.warn({ driver: driver.kind, notEnforced: driver.notEnforced }, `calls on this node run WITHOUT: ${driver.notEnforced.join('; ')}`);
  }
  // Asked now, for the first hello: Docker takes a while to list a host's images when it has many.
  let imagesAtStart: Promise<string[]> | undefined = driver.listImages().catch(() => []);
  const orphans = await driver.removeLeftovers(config.nodeId);
  if (orphans > 0) log.info({ removed: orphans }, 'removed containers left by an earlier run');

  const metrics = new WorkerMetrics(config.maxContainers);
  const registry = new RegistryClient(client, registryCurve);
  const bundles = new BundleCache(config.dir, registry, log.child({ module: 'bundle-cache' }), metrics.pulled);
  await bundles.init();
  const runtimesFile = path.join(config.dir, 'runtimes.json');
  const preparer = new FunctionPreparer(driver, bundles, log.child({ module: 'preparer' }));

  const incarnation = nanoid();
  let link: ApiLinks | undefined;
  const report = (msg: WorkerToApi): void => {
    metrics.reported(msg);
    link?.send(msg);
  };
  const broker = new Broker({
    nodeId: config.nodeId,
    dir: config.dir,
    size: config.maxContainers,
    slotsPerMiniworker: config.sandboxesPerMiniworker,
    memoryMb: config.memoryMb,
    driver,
    fakeDelay: config.fakeDelay,
    preload: config.preload,
    keepAliveMs: config.keepAliveMs,
    outputCapBytes: config.outputCapBytes,
    sandbox: config.sandbox,
    log: log.child({ module: 'broker' }),
    report,
    onRuntimesChanged: (runtimes) => {
      writeFile(runtimesFile, JSON.stringify(runtimes)).catch((err: unknown) => log.warn({ err }, 'could not remember runtimes'));
    },
  });
  await broker.start();
  metrics.watch(broker);
  broker.rememberRuntimes(await readRuntimes(runtimesFile));

  let metricsServer: MetricsServer | null = null;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await metricsServer?.close();
      await link?.close();
      await preparer.close();
      await broker.close();
      await registry.close();
    })());

  const preparing = new Set<string>();
  // A cancel that arrives while its call is still being prepared finds nothing in the broker: the
  // call is remembered here and never handed to it.
  const cancelledWhilePreparing = new Set<string>();
  const dispatch = (task: Dispatch): void => {
    const ref = `${task.callId}/${task.attempt}`;
    const callLog = callLogger(log, task);
    if (preparing.has(ref) || broker.has(task.callId, task.attempt)) {
      callLog.debug({ attempt: task.attempt }, 'duplicate dispatch ignored');
      return;
    }
    callLog.debug({ attempt: task.attempt, fn: `${task.function}@${task.version}` }, 'call received');
    const receivedAt = Date.now();
    preparing.add(ref);
    preparer
      .prepare(task)
      .then((prepared) => {
        if (cancelledWhilePreparing.delete(ref)) callLog.debug({ attempt: task.attempt }, 'call cancelled while it was prepared: not run');
        else broker.submit(task, prepared, receivedAt, callLog);
      })
      .catch((err: unknown) => {
        const why = err instanceof PrepareError ? err : new PrepareError(CallErrorCode.SANDBOX_FAILED, String(err), true);
        callLog.warn({ err, code: why.code }, 'call could not be prepared');
        report({
          msgType: 'failed',
          content: { callId: task.callId, attempt: task.attempt, code: why.code, message: why.message, retryable: why.retryable },
        });
      })
      .finally(() => {
        preparing.delete(ref);
        cancelledWhilePreparing.delete(ref);
      });
  };

  link = new ApiLinks({
    nodeId: config.nodeId,
    apiAddrs: config.apiAddrs,
    heartbeatMs: config.heartbeatMs,
    curve: apiCurve,
    log: log.child({ module: 'api-link' }),
    hello: async () => {
      const images = imagesAtStart ?? driver.listImages().catch(() => []);
      imagesAtStart = undefined;
      return {
        nodeId: config.nodeId,
        incarnation,
        driver: driver.kind,
        capacity: { maxContainers: config.maxContainers, memoryMb: config.memoryMb },
        images: await images,
        warm: broker.warmContainers(),
        running: broker.activeCalls(),
      };
    },
    heartbeat: () => ({ running: broker.running, warm: broker.warmContainers() }),
    onMessage: (msg) => {
      switch (msg.msgType) {
        case 'dispatch':
          dispatch(msg.content);
          return;
        case 'cancel': {
          const ref = `${msg.content.callId}/${msg.content.attempt}`;
          if (preparing.has(ref)) cancelledWhilePreparing.add(ref);
          else broker.cancel(msg.content.callId, msg.content.attempt);
          return;
        }
      }
    },
  });
  link.start();
  metricsServer = await startMetricsServer(config.metrics, metrics.registry).catch(async (err: unknown) => {
    await close();
    throw err;
  });
  log.info(
    {
      endpoint: config.apiAddrs.join(','),
      nodeId: config.nodeId,
      publicKey: keys?.publicKey ?? null,
      driver: driver.kind,
      capacity: config.maxContainers,
      preload: config.preload,
      metricsUrl: metricsServer?.url ?? null,
    },
    'listening',
  );

  return {
    nodeId: config.nodeId,
    driver: driver.kind,
    close,
  };
}

/** Runtimes this node ran before a restart; anything unreadable is forgotten, not fatal. */
async function readRuntimes(file: string): Promise<RuntimeSpec[]> {
  try {
    const parsed = runtimeOnWireSchema.array().safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
