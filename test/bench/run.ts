import { spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { makeTempDir } from '../helpers/temp.js';
import { benchDb } from './db-bench.js';
import { benchRegistry } from './registry-bench.js';
import { benchEndToEnd } from './e2e-bench.js';
import { benchWorker } from './worker-bench.js';

/**
 * `npm run bench`: starts real daemons in a temp dir and prints figures. Never fails on time.
 * Flags: --quick (short run), --json (one JSON object on stdout instead of the table).
 */
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const json = args.has('--json');

async function main(): Promise<void> {
  const { dir, cleanup } = await makeTempDir('ferry-bench-');
  const daemons: DaemonProcess[] = [];
  try {
    const env = {
      FERRY_DATA_DIR: dir,
      FERRY_DB_BIND: 'tcp://127.0.0.1:*',
      FERRY_REGISTRY_BIND: 'tcp://127.0.0.1:*',
      FERRY_LOG_LEVEL: 'warn',
    };
    const db = await spawnDaemon('db', { ...env, FERRY_LOG_LEVEL: 'info' });
    daemons.push(db);
    const registry = await spawnDaemon('registry', { ...env, FERRY_LOG_LEVEL: 'info' });
    daemons.push(registry);

    const pairs = quick ? 5_000 : 50_000;
    await benchDb(db.endpoint, 1_000, 16); // warm-up
    const db1 = await benchDb(db.endpoint, Math.min(pairs, 10_000), 1);
    const db64 = await benchDb(db.endpoint, pairs, 64);
    const reg = await benchRegistry(registry.endpoint, registry.proc.pid, dir, (quick ? 20 : 100) * 1024 * 1024);
    const node = await benchWorker(quick);
    const e2e = await benchEndToEnd(quick);

    const figures = {
      db_pairs_per_s_1_in_flight: Math.round(db1.pairsPerSec),
      db_pairs_per_s_64_in_flight: Math.round(db64.pairsPerSec),
      db_ops_per_s_64_in_flight: Math.round(db64.opsPerSec),
      bundle_bytes: reg.bytes,
      bundle_push_mb_per_s: Math.round(reg.pushMbPerSec),
      bundle_pull_mb_per_s: Math.round(reg.pullMbPerSec),
      registry_peak_rss_mib: reg.registryPeakRssMib === null ? null : Math.round(reg.registryPeakRssMib),
      node_warm_agent_p50_ms: node.warmAgentP50Ms,
      node_warm_agent_p99_ms: node.warmAgentP99Ms,
      node_warm_agent_run_p50_ms: node.warmAgentRunP50Ms,
      node_warm_exec_ms: node.warmExecMs,
      bare_docker_exec_ms: node.bareDockerExecMs,
      exec_ratio_vs_docker_exec: node.execRatio,
      node_cold_ms: node.coldMs,
      bare_docker_run_ms: node.bareDockerRunMs,
      cold_ratio_vs_docker_run: node.coldRatio,
      warm_p50_ms: e2e.p50Ms,
      warm_p99_ms: e2e.p99Ms,
      warm_calls_per_s: e2e.callsPerSec[64] ?? null,
      warm_calls_per_s_16_clients: e2e.callsPerSec[16] ?? null,
    };
    if (json) {
      process.stdout.write(JSON.stringify(figures) + '\n');
    } else {
      const rows: [string, string][] = [
        ['DB createCall+updateCall pairs/s, 1 in flight', String(figures.db_pairs_per_s_1_in_flight)],
        ['DB createCall+updateCall pairs/s, 64 in flight', String(figures.db_pairs_per_s_64_in_flight)],
        ['DB ops/s, 64 in flight', String(figures.db_ops_per_s_64_in_flight)],
        [`registry push MB/s (${reg.bytes / 1024 / 1024} MiB bundle)`, String(figures.bundle_push_mb_per_s)],
        [`registry pull MB/s (${reg.bytes / 1024 / 1024} MiB bundle)`, String(figures.bundle_pull_mb_per_s)],
        ['registry peak RSS MiB', String(figures.registry_peak_rss_mib ?? 'n/a')],
        ['node: warm agent call p50 / p99 ms (dispatch → finished, no-op python)', `${node.warmAgentP50Ms} / ${node.warmAgentP99Ms}`],
        ['node: of which the agent round trip (runMs) p50 ms', String(node.warmAgentRunP50Ms)],
        ['node: warm exec call ms / bare docker exec ms / ratio', `${node.warmExecMs} / ${node.bareDockerExecMs} / ${node.execRatio}`],
        ['node: cold call ms (preload none) / bare docker run --rm ms / ratio', `${node.coldMs} / ${node.bareDockerRunMs} / ${node.coldRatio}`],
        ['end to end: HTTP sync invoke of a warm no-op agent, p50 / p99 ms (1 client)', `${e2e.p50Ms} / ${e2e.p99Ms}`],
        ['end to end: calls/s with 16 / 64 clients in flight', `${e2e.callsPerSec[16]} / ${e2e.callsPerSec[64]}`],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      process.stdout.write(`Ferry benchmarks${quick ? ' (quick)' : ''}\n`);
      for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
    }
  } finally {
    for (const d of daemons.reverse()) await d.kill('SIGTERM');
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
