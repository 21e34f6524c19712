import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { rootLogger, setLoggerName } from '../../shared/logger.js';
import { ChildDaemon } from './child-daemon.js';

/**
 * `npm start`: a one-node Ferry cluster on this machine, each daemon its own process, all
 * stopped together on Ctrl-C.
 */
setLoggerName('supervisor');
const log = rootLogger();
const servicesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const config = loadConfig();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FERRY_DATA_DIR: config.dataDir,
    FERRY_DB_BIND: config.db.bind,
    FERRY_DB_ADDR: config.client.dbAddr,
    FERRY_REGISTRY_BIND: config.registry.bind,
    FERRY_REGISTRY_ADDR: config.client.registryAddr,
  };
  const daemons = ['db', 'registry'].map(
    (name) => new ChildDaemon({ name, script: path.join(servicesDir, name, 'main.js'), env, log }),
  );

  let stopping: Promise<void> | undefined;
  const stopAll = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ signal }, 'stopping the cluster');
      for (const d of daemons) d.expectExit();
      // Reverse start order: clients go before the daemons they use.
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
  const [db, registry] = daemons;
  process.stderr.write(
    `\nFerry is up (data in ${config.dataDir}).\n` +
      `  db        ${db?.endpoint}\n` +
      `  registry  ${registry?.endpoint}\n` +
      `Press Ctrl-C to stop.\n\n`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'cluster failed to start');
  process.exit(1);
});
