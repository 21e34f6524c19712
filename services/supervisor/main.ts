import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { rootLogger, setLoggerName } from '../../shared/logger.js';
import { ChildDaemon } from './child-daemon.js';
import { prepareHost } from './prepare-host.js';

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
  // The fake driver runs nothing, so it needs neither Docker nor the runtime images.
  const fake = config.worker.driver === 'fake';
  const containers = fake ? false : await prepareHost(repoDir, log);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FERRY_DATA_DIR: config.dataDir,
    FERRY_DB_BIND: config.db.bind,
    FERRY_DB_ADDR: config.client.dbAddr,
    FERRY_REGISTRY_BIND: config.registry.bind,
    FERRY_REGISTRY_ADDR: config.client.registryAddr,
    FERRY_WORKERS_BIND: config.api.workersBind,
    FERRY_WORKERS_ADDR: config.worker.apiAddr,
    FERRY_DRIVER: fake || containers ? config.worker.driver : 'process',
  };
  const daemons = ['db', 'registry', 'api', 'worker'].map(
    (name) => new ChildDaemon({ name, script: path.join(servicesDir, name, 'main.js'), env, log }),
  );

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

  try {
    for (const d of daemons) await d.start();
  } catch (err) {
    await stopAll('start failed');
    throw err;
  }
  const [db, registry, api] = daemons;
  const url = api?.url ?? `http://${config.api.httpHost}:${config.api.httpPort}`;
  const runs = fake ? 'fake driver: nothing runs, every call ends DONE echoing its params' : `functions run ${containers ? 'in Docker containers' : 'as processes'}`;
  process.stderr.write(
    `\nFerry is up: ${url}  (data in ${config.dataDir}; ${runs})\n` +
      `  db ${db?.endpoint}   registry ${registry?.endpoint}   workers connect to ${config.worker.apiAddr}\n\n` +
      `Try:\n` +
      `  curl -H "Content-Type: application/json" -X POST --data '{"image":"pythonruntime","path":"/ws","dependencies":"pip3 install -r requirements.txt","run":"python3 test.py"}' ${url}/registerRuntime\n` +
      `  tar -C runtimes/python/dice -czf /tmp/python.tar.gz . && curl -X POST -F module=@/tmp/python.tar.gz ${url}/registerFunction/pythonruntime/dice\n` +
      `  curl -H "Content-Type: application/json" -X POST --data '{"funcName":"dice","params":{"roll":"4d6"}}' ${url}/invokeFunction\n` +
      `  curl ${url}/call/1\n\n` +
      `Press Ctrl-C to stop.\n\n`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'cluster failed to start');
  process.exit(1);
});
