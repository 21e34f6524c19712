import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { rootLogger, setLoggerName } from '../../shared/logger.js';
import { ChildDaemon, type ChildDaemonOptions } from './child-daemon.js';
import { prepareHost } from './prepare-host.js';
import { nodeJoined, startsAfter } from './start-order.js';

/**
 * `npm start`: a one-node Ferry cluster on this machine — db, registry, api and one worker, each
 * its own process — stopped together, worker first, on Ctrl-C.
 */
setLoggerName('supervisor');
const log = rootLogger();
const servicesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.resolve(servicesDir, '..', '..');

async function main(): Promise<void> {
  const config = loadConfig();
  // The fake driver runs nothing, so it needs neither Docker nor the runtime images. The host is
  // got ready (Docker checked, images checked) while the db, registry and api start.
  const fake = config.worker.driver === 'fake';
  const hostReady = fake ? Promise.resolve(false) : prepareHost(repoDir, log);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FERRY_DATA_DIR: config.dataDir,
    FERRY_DB_BIND: config.db.bind,
    FERRY_DB_ADDR: config.client.dbAddr,
    FERRY_REGISTRY_BIND: config.registry.bind,
    FERRY_REGISTRY_ADDR: config.client.registryAddr,
    FERRY_WORKERS_BIND: config.api.workersBind,
    FERRY_WORKERS_ADDR: config.worker.apiAddrs.join(','),
  };
  // Whether the api makes the first admin key at this start: only then is the key shown.
  const hadKey = existsSync(config.api.adminKeyFile);
  // The worker's driver is known once the host is ready.
  const workerEnv: NodeJS.ProcessEnv = { ...env };
  const daemon = (name: string, more: Partial<ChildDaemonOptions> = {}): ChildDaemon =>
    new ChildDaemon({ name, script: path.join(servicesDir, name, 'main.js'), env, log, ...more });
  const joined = nodeJoined(config.worker.nodeId);
  const [db, registry, api, worker] = [daemon('db'), daemon('registry'), daemon('api', { onLine: joined.onLine }), daemon('worker', { env: workerEnv })];
  const daemons = [db, registry, api, worker];

  let stopping: Promise<void> | undefined;
  const stopAll = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ signal }, 'stopping the cluster');
      for (const d of daemons) d.expectExit();
      // Reverse start order: the worker removes its containers, clients go before their servers.
      for (const d of [...daemons].reverse()) await d.stop().catch((err: unknown) => log.error({ err }, 'stop failed'));
      log.info('cluster stopped');
    })());
  process.on('SIGINT', () => void stopAll('SIGINT').then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll('SIGTERM').then(() => process.exit(0)));

  let containers = false;
  try {
    // Each daemon starts as soon as it can reach the servers it is a client of (see startsAfter);
    // not once another failed to start and the cluster is stopping.
    const start = (d: ChildDaemon): Promise<string> => (stopping ? stopping.then(() => '') : d.start());
    const servers = { db: db.start(), registry: registry.start() };
    const apiUp = startsAfter(config.curve, [['db', servers.db], ['registry', servers.registry]]).then(() => start(api));
    const workerUp = Promise.all([hostReady, startsAfter(config.curve, [['api', apiUp], ['registry', servers.registry]])]).then(([ready]) => {
      containers = ready;
      workerEnv['FERRY_DRIVER'] = fake || containers ? config.worker.driver : 'process';
      return start(worker);
    });
    await Promise.all([servers.db, servers.registry, apiUp, workerUp, joined.done]);
  } catch (err) {
    await stopAll('start failed');
    throw err;
  }
  const url = api.url ?? `http://${config.api.httpHost}:${config.api.httpPort}`;
  const runs = fake ? 'fake driver: nothing runs, every call ends DONE echoing its params' : `functions run ${containers ? 'in Docker containers' : 'as processes'}`;
  const key = config.api.auth ? keyLines(config.api.adminKeyFile, hadKey) : { lines: `Auth is OFF (FERRY_AUTH=off): every route is open to anyone who can reach ${url}.\n\n`, curl: 'curl' };
  process.stderr.write(
    `\nFerry is up: ${url}  (data in ${config.dataDir}; ${runs})\n` +
      `  db ${db.endpoint}   registry ${registry.endpoint}   workers connect to ${config.worker.apiAddrs.join(', ')}\n\n` +
      key.lines +
      `Try:\n` +
      `  ${key.curl} -H "Content-Type: application/json" -X POST --data '{"image":"pythonruntime","path":"/ws","dependencies":"pip3 install -r requirements.txt","run":"python3 test.py"}' ${url}/registerRuntime\n` +
      `  tar -C runtimes/python/dice -czf /tmp/python.tar.gz . && ${key.curl} -X POST -F module=@/tmp/python.tar.gz ${url}/registerFunction/pythonruntime/dice\n` +
      `  ${key.curl} -H "Content-Type: application/json" -X POST --data '{"funcName":"dice","params":{"roll":"4d6"}}' ${url}/invokeFunction\n` +
      `  ${key.curl} ${url}/call/1\n\n` +
      `Press Ctrl-C to stop.\n\n`,
  );
}

/**
 * What the banner says of API keys: the first admin key itself when the api made it at this start
 * (the one time it is shown), else where it is kept; and the curl that sends it.
 */
function keyLines(file: string, hadKey: boolean): { lines: string; curl: string } {
  const curl = 'curl -u ":$FERRY_TOKEN"';
  if (!existsSync(file)) {
    return { lines: `Every route needs an API key (this cluster's first admin key is no longer in ${file}): export FERRY_TOKEN=<key>\n\n`, curl };
  }
  const made = hadKey ? '' : `First admin key, made now and shown this once (kept in ${file}, mode 0600):\n  ${readFileSync(file, 'utf8').trim()}\n`;
  return { lines: `${made}Every route needs an API key; ferry run from this folder finds it itself. For curl:\n  export FERRY_TOKEN=$(cat ${file})\n\n`, curl };
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'cluster failed to start');
  process.exit(1);
});
