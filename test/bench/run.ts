import { spawnDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { makeTempDir } from '../helpers/temp.js';
import { bullmqContender } from './bullmq-contender.js';
import { bundleFigures, bundleJson, bundleRows } from './bundle-bench.js';
import { busyNeighbours } from './busy-neighbours.js';
import { cpuFigures, cpuRows } from './cpu-bench.js';
import { sideBySide, throughput } from './contenders.js';
import { curveFigures, curveRows } from './curve-bench.js';
import { benchDb } from './db-bench.js';
import { execFigures, execRows } from './exec-bench.js';
import { hostsFigures, hostsRows } from './hosts-bench.js';
import { backlogThroughput, firstCallsWithRuntimePreload, invokeDuringUploads, startFerryBench } from './ferry-bench.js';
import { startRedis } from './redis-server.js';
import { startFigures, startRows } from './start-bench.js';
import { invokeDuringPurge } from './purge-interference.js';
import { benchRetention } from './retention-bench.js';
import { takeoverFigures, takeoverRows } from './takeover-bench.js';
import { freshDatabase, startLocalPostgres } from '../helpers/postgres.js';
import { scaleFigures, scaleRows } from './scale-bench.js';
import { round } from './stats.js';
import { storeScaleFigures, storeScaleJson, storeScaleRows } from './store-scale-bench.js';
import { printTable, type Row } from './table.js';
import { benchWorker } from './worker-bench.js';
import { leanFigures, leanRows } from './lean-bench.js';

/**
 * `npm run bench`: Ferry side by side with bare Docker and with a BullMQ job queue, on this
 * machine, in one run. Never fails on time. Every section below runs in a full run, in this
 * order; naming sections (`-- --cpu --exec`) runs only those. `--quick`: a short smoke run;
 * `--json`: one JSON object of numbers on stdout instead of the table.
 */
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const json = args.has('--json');
const say = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

/** What one section measured: JSON figures (numbers) and the table's rows. */
interface Measured {
  figures: Record<string, number>;
  rows: Row[];
}

interface Section {
  flag: string;
  /** Runs in a full run (a section that only repeats part of another runs when named). */
  inFullRun: boolean;
  measure(): Promise<Measured>;
}

const sections: Section[] = [
  {
    // First, on a quiet machine: a process start is what it measures.
    flag: 'start',
    inFullRun: true,
    async measure() {
      say('npm start until ready (nothing changed, then one source changed), ferry invoke of a warm function, their floors');
      const f = await startFigures(quick);
      return { figures: f, rows: startRows(f) };
    },
  },
  {
    flag: 'store',
    inFullRun: true,
    async measure() {
      say('call store');
      const f = await storeFigures();
      return { figures: f, rows: storeRows(f) };
    },
  },
  {
    flag: 'store-scale',
    inFullRun: true,
    async measure() {
      const f = await storeScaleFigures(quick, say);
      return { figures: storeScaleJson(f), rows: storeScaleRows(f) };
    },
  },
  {
    flag: 'cpu',
    inFullRun: true,
    async measure() {
      say('CPU per warm call: wrk against a cluster, BullMQ beside it');
      const f = await cpuFigures(quick);
      return { figures: { ...f }, rows: cpuRows(f) };
    },
  },
  {
    flag: 'exec',
    inFullRun: true,
    async measure() {
      say('dice as an exec function: async calls/s with 4 warm containers, warm latency against python3 in a running container');
      const f = await execFigures(quick);
      return { figures: { ...f }, rows: execRows(f) };
    },
  },
  {
    flag: 'lean',
    inFullRun: true,
    async measure() {
      say('a node of 64 containers, lean and with one miniworker per container: memory at 4/16/64 warm, CPU per call');
      const f = await leanFigures(quick);
      return { figures: { ...f }, rows: leanRows(f) };
    },
  },
  {
    flag: 'neighbours',
    inFullRun: true,
    async measure() {
      const f = await neighbourFigures();
      return { figures: f, rows: neighbourRows(f) };
    },
  },
  { flag: 'cluster', inFullRun: true, measure: clusterFigures },
  {
    flag: 'takeover',
    inFullRun: true,
    async measure() {
      const f = await takeoverFigures(quick, say);
      return { figures: { ...f }, rows: takeoverRows(f) };
    },
  },
  {
    flag: 'hosts',
    inFullRun: true,
    async measure() {
      const f = await hostsFigures(quick, say);
      return { figures: 'skipped' in f ? {} : { ...f }, rows: hostsRows(f) };
    },
  },
  {
    flag: 'scale',
    inFullRun: true,
    async measure() {
      const f = await scaleFigures(quick, say);
      return { figures: f, rows: scaleRows(f) };
    },
  },
  {
    flag: 'bundles',
    inFullRun: false,
    async measure() {
      say(`bundles: ${quick ? 'one' : 'three'} 100 MiB push(es) and pull(s) on a cluster of their own`);
      const b = await bundleFigures(quick);
      return { figures: bundleJson(b), rows: bundleRows(b) };
    },
  },
  {
    flag: 'curve',
    inFullRun: false,
    async measure() {
      say('two clusters, CurveZMQ on and off: warm calls, alternating');
      const ferry = await startFerryBench();
      try {
        await ferry.python.settle?.();
        const f = await curveFigures(ferry, quick);
        return { figures: { ...f }, rows: curveRows(f) };
      } finally {
        await ferry.close();
      }
    },
  },
];

async function storeFigures() {
  const { dir, cleanup } = await makeTempDir('ferry-bench-');
  let db: DaemonProcess | undefined;
  let pairs: Awaited<ReturnType<typeof benchDb>>;
  try {
    db = await spawnDaemon('db', { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', FERRY_LOG_LEVEL: 'info' });
    await benchDb(db.endpoint, 1_000, 16);
    pairs = await benchDb(db.endpoint, quick ? 5_000 : 30_000, 64);
  } finally {
    await db?.kill();
    await cleanup();
  }
  say('call store on PostgreSQL: one db daemon, then two on the same database');
  const postgres = await postgresStoreFigures();
  say(`call store: ${quick ? '20,000' : '100,000'} old calls, then a retention pass under load`);
  const retention = await retentionFigures();
  return { db_pairs_per_s_64_in_flight: Math.round(pairs.pairsPerSec), ...postgres, ...retention };
}

/** The same pairs on a PostgreSQL store of the bench's own: through one db daemon, then through two at once (two api hosts). */
async function postgresStoreFigures() {
  const server = await startLocalPostgres();
  const { dir, cleanup } = await makeTempDir('ferry-bench-');
  const dbs: DaemonProcess[] = [];
  try {
    const env = { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', FERRY_LOG_LEVEL: 'info', FERRY_STORE: await freshDatabase(server.url) };
    dbs.push(await spawnDaemon('db', env), await spawnDaemon('db', env));
    await benchDb(dbs[0]!.endpoint, 1_000, 16);
    const one = await benchDb(dbs[0]!.endpoint, quick ? 5_000 : 30_000, 64);
    const two = await Promise.all(dbs.map((db) => benchDb(db.endpoint, quick ? 2_500 : 15_000, 32)));
    return {
      db_pairs_per_s_64_in_flight_postgres: Math.round(one.pairsPerSec),
      db_pairs_per_s_64_in_flight_postgres_two_daemons: Math.round(two.reduce((sum, t) => sum + t.pairsPerSec, 0)),
    };
  } finally {
    for (const db of dbs) await db.kill();
    await cleanup();
    server.stop();
  }
}

/** A fresh store (the default 7-day retention; no timed pass during the run) for the retention figures. */
async function retentionFigures() {
  const { dir, cleanup } = await makeTempDir('ferry-bench-');
  let db: DaemonProcess | undefined;
  try {
    db = await spawnDaemon('db', { FERRY_DATA_DIR: dir, FERRY_DB_BIND: 'tcp://127.0.0.1:*', FERRY_LOG_LEVEL: 'info', FERRY_RETENTION_SCAN_MS: '86400000' });
    const r = await benchRetention(db.endpoint, { oldCalls: quick ? 20_000 : 100_000, baselinePairs: quick ? 5_000 : 20_000, inFlight: 64 });
    return {
      retention_removed_calls: r.removedCalls,
      retention_pass_ms: r.passMs,
      retention_db_pairs_per_s_before: r.pairsPerSecBefore,
      retention_db_pairs_per_s_during: r.pairsPerSecDuring,
      retention_db_pairs_during: r.pairsDuring,
    };
  } finally {
    await db?.kill();
    await cleanup();
  }
}

function storeRows(f: Awaited<ReturnType<typeof storeFigures>>): Row[] {
  return [
    ['DB createCall+updateCall pairs/s (64 in flight)', `${f.db_pairs_per_s_64_in_flight}`, '', ''],
    [
      'the same on PostgreSQL: one db daemon / two on one database',
      `${f.db_pairs_per_s_64_in_flight_postgres} / ${f.db_pairs_per_s_64_in_flight_postgres_two_daemons}`,
      '',
      `LevelDB ${f.db_pairs_per_s_64_in_flight}`,
    ],
    [
      `DB pairs/s while a retention pass removes ${f.retention_removed_calls} old calls (pass ms)`,
      `${f.retention_db_pairs_per_s_during} (${f.retention_pass_ms})`,
      '',
      `before the pass ${f.retention_db_pairs_per_s_before}`,
    ],
  ];
}

/** A warm no-op's latency alone, then beside four busy calls with the CPU limit on, and with it off. */
async function neighbourFigures() {
  say('busy neighbours: a warm no-op alone, beside 4 calls that spin the CPU, and so with no CPU limit, in turns');
  const f = await busyNeighbours(quick ? 300 : 1_500, quick ? 3 : 5);
  return {
    busy_neighbours_quiet_p50_ms: f.quiet.p50Ms,
    busy_neighbours_quiet_p99_ms: f.quiet.p99Ms,
    busy_neighbours_p50_ms: f.busy.p50Ms,
    busy_neighbours_p99_ms: f.busy.p99Ms,
    busy_neighbours_no_cpu_limit_p50_ms: f.busyNoCpuLimit.p50Ms,
    busy_neighbours_no_cpu_limit_p99_ms: f.busyNoCpuLimit.p99Ms,
  };
}

function neighbourRows(f: Awaited<ReturnType<typeof neighbourFigures>>): Row[] {
  const alone = `alone ${f.busy_neighbours_quiet_p50_ms} / ${f.busy_neighbours_quiet_p99_ms}`;
  return [
    ['warm no-op p50 / p99 ms beside 4 busy calls (CPU limit on)', `${f.busy_neighbours_p50_ms} / ${f.busy_neighbours_p99_ms}`, 'p99 ≤ 50', alone],
    ['warm no-op p50 / p99 ms beside 4 busy calls, no CPU limit', `${f.busy_neighbours_no_cpu_limit_p50_ms} / ${f.busy_neighbours_no_cpu_limit_p99_ms}`, '', alone],
  ];
}

/**
 * One cluster beside BullMQ and bare Docker: warm calls, cold calls, the first call with preload
 * runtime, a backlog, bundles, invokes during uploads and a retention pass, CurveZMQ on and off.
 */
async function clusterFigures(): Promise<Measured> {
  say('node-level: warm agent, warm exec vs docker exec, cold vs docker run');
  const node = await benchWorker(quick);

  say('starting a cluster and Redis for the side-by-side runs');
  const ferry = await startFerryBench();
  const redis = await startRedis();
  const bull = await bullmqContender(redis.port);
  try {
    say('warm calls and BullMQ jobs, alternating');
    const side = await sideBySide([ferry.python, ferry.node, bull.contender], {
      rounds: quick ? 3 : 10,
      perRound: quick ? 100 : 300,
      clients: [16, 64],
      total: quick ? 1_000 : 20_000,
    });
    const py = side.get(ferry.python.name)!;
    const js = side.get(ferry.node.name)!;
    const bq = side.get('bullmq')!;

    say('first calls of never-seen functions with preload runtime');
    const firstCall = await firstCallsWithRuntimePreload(ferry, quick ? 3 : 7);
    say('backlog');
    // The empty-queue rate measured right before, so drift of the machine does not enter the ratio.
    const emptyQueue = await throughput(ferry.python, 64, quick ? 1_000 : 5_000);
    const backlog = await backlogThroughput(ferry, quick ? 1_000 : 10_000);
    say('bundle');
    const bundle = await bundleFigures(quick, { cluster: ferry.cluster, nodeId: 'bench-node' });
    say('warm invokes while a 2 GiB gzip bomb and a 100 MiB bundle are pushed');
    const duringUpload = await invokeDuringUploads(ferry, { samples: quick ? 300 : 2_000, maxPushes: quick ? 5 : 20, mib: 100 });
    say(`warm invokes while a retention pass removes ${quick ? '20,000' : '100,000'} old calls`);
    const duringPurge = await invokeDuringPurge(ferry, { oldCalls: quick ? 20_000 : 100_000, samples: quick ? 300 : 1_000 });
    say('warm calls with CurveZMQ on and off (a second cluster), alternating');
    const curve = await curveFigures(ferry, quick);

    const figures = {
      warm_p50_ms: py.latency.p50Ms,
      warm_p99_ms: py.latency.p99Ms,
      warm_calls_per_s: py.perSec[64]!,
      warm_calls_per_s_16: py.perSec[16]!,
      warm_node_p50_ms: js.latency.p50Ms,
      warm_node_p99_ms: js.latency.p99Ms,
      warm_node_calls_per_s: js.perSec[64]!,
      bullmq_p50_ms: bq.latency.p50Ms,
      bullmq_p99_ms: bq.latency.p99Ms,
      bullmq_jobs_per_s: bq.perSec[64]!,
      bullmq_jobs_per_s_16: bq.perSec[16]!,
      ratio_p50_ferry_over_bullmq: round(py.latency.p50Ms / bq.latency.p50Ms),
      ratio_p99_ferry_over_bullmq: round(py.latency.p99Ms / bq.latency.p99Ms),
      ratio_per_s_ferry_over_bullmq: round(py.perSec[64]! / bq.perSec[64]!),
      cold_ratio_vs_docker_run: node.coldRatio,
      cold_ms: node.coldMs,
      docker_run_ms: node.bareDockerRunMs,
      exec_ratio_vs_docker_exec: node.execRatio,
      exec_ms: node.warmExecMs,
      docker_exec_ms: node.bareDockerExecMs,
      node_warm_agent_p50_ms: node.warmAgentP50Ms,
      node_agent_round_trip_p50_ms: node.warmAgentRunP50Ms,
      runtime_preload_first_call_ms: firstCall.medianMs,
      runtime_preload_first_call_max_ms: firstCall.maxMs,
      ...bundleJson(bundle),
      invoke_during_upload_p50_ms: duringUpload.p50Ms,
      invoke_during_upload_p99_ms: duringUpload.p99Ms,
      invoke_during_upload_samples: duringUpload.samples,
      invoke_during_upload_bombs_refused: duringUpload.bombs,
      invoke_during_upload_bundles_pushed: duringUpload.bundles,
      invoke_before_purge_p50_ms: duringPurge.beforeP50Ms,
      invoke_before_purge_p99_ms: duringPurge.beforeP99Ms,
      invoke_during_purge_p50_ms: duringPurge.duringP50Ms,
      invoke_during_purge_p99_ms: duringPurge.duringP99Ms,
      invoke_during_purge_samples: duringPurge.samplesDuring,
      purge_removed_calls: duringPurge.removedCalls,
      purge_pass_ms: duringPurge.passMs,
      backlog_calls_per_s: backlog,
      backlog_empty_queue_calls_per_s: emptyQueue,
      backlog_throughput_ratio: round(backlog / emptyQueue),
      ...curve,
    };
    const f = figures;
    const bullLatency = `BullMQ ${f.bullmq_p50_ms} / ${f.bullmq_p99_ms}`;
    const rows: Row[] = [
      ['warm call p50 / p99 ms (python agent, HTTP sync, 1 client)', `${f.warm_p50_ms} / ${f.warm_p99_ms}`, 'p50 ≤ BullMQ p50, p99 ≤ 5', bullLatency],
      ['warm call p50 / p99 ms (node agent)', `${f.warm_node_p50_ms} / ${f.warm_node_p99_ms}`, 'p50 ≤ BullMQ p50, p99 ≤ 5', bullLatency],
      ['Ferry / BullMQ p50, p99', `${f.ratio_p50_ferry_over_bullmq}, ${f.ratio_p99_ferry_over_bullmq}`, 'p50 ≤ 1', 'BullMQ: add + waitUntilFinished'],
      ['warm calls/s, 16 / 64 clients (python)', `${f.warm_calls_per_s_16} / ${f.warm_calls_per_s}`, '≥ 1.2 × BullMQ', `BullMQ ${f.bullmq_jobs_per_s_16} / ${f.bullmq_jobs_per_s} jobs/s`],
      ['warm calls/s, 64 clients (node)', `${f.warm_node_calls_per_s}`, '≥ 1.2 × BullMQ', `BullMQ ${f.bullmq_jobs_per_s} jobs/s`],
      ['Ferry / BullMQ calls per second (64)', `${f.ratio_per_s_ferry_over_bullmq}`, '≥ 1.2', ''],
      ['cold call ms / ratio', `${f.cold_ms} / ${f.cold_ratio_vs_docker_run}`, '≤ 1.1 ×', `docker run --rm ${f.docker_run_ms} ms`],
      ['warm exec call ms / ratio (node level)', `${f.exec_ms} / ${f.exec_ratio_vs_docker_exec}`, '', `docker exec ${f.docker_exec_ms} ms`],
      ['node-level warm agent call p50 ms', `${f.node_warm_agent_p50_ms}`, 'overhead ≤ 1 ms', `agent round trip ${f.node_agent_round_trip_p50_ms} ms`],
      ['first call of a never-seen function, preload runtime: median / slowest ms', `${f.runtime_preload_first_call_ms} / ${f.runtime_preload_first_call_max_ms}`, '≤ 30', `warm call ${f.warm_p50_ms} ms`],
      ...bundleRows(bundle),
      [
        `warm sync invoke p50 / p99 ms while 2 GiB bombs (${f.invoke_during_upload_bombs_refused}× refused) and 100 MiB bundles (${f.invoke_during_upload_bundles_pushed}×) upload`,
        `${f.invoke_during_upload_p50_ms} / ${f.invoke_during_upload_p99_ms}`,
        'p99 < 50',
        `idle ${f.warm_p50_ms} / ${f.warm_p99_ms}`,
      ],
      [
        `warm sync invoke p50 / p99 ms while a retention pass removes ${f.purge_removed_calls} old calls (${f.purge_pass_ms} ms)`,
        `${f.invoke_during_purge_p50_ms} / ${f.invoke_during_purge_p99_ms}`,
        '',
        `before ${f.invoke_before_purge_p50_ms} / ${f.invoke_before_purge_p99_ms}`,
      ],
      ['backlog calls/s / ratio', `${f.backlog_calls_per_s} / ${f.backlog_throughput_ratio}`, '≥ 0.9 ×', `empty queue ${f.backlog_empty_queue_calls_per_s} calls/s`],
      ...curveRows(f),
    ];
    return { figures, rows };
  } finally {
    await bull.close();
    await redis.stop();
    await ferry.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const named = sections.filter((s) => args.has(`--${s.flag}`));
  const unknown = [...args].filter((a) => a !== '--quick' && a !== '--json' && !sections.some((s) => a === `--${s.flag}`));
  if (unknown.length > 0) throw new Error(`unknown flag(s) ${unknown.join(' ')}; sections: ${sections.map((s) => `--${s.flag}`).join(' ')}`);
  const chosen = named.length > 0 ? named : sections.filter((s) => s.inFullRun);
  const figures: Record<string, number> = {};
  const rows: Row[] = [];
  for (const section of chosen) {
    const m = await section.measure();
    Object.assign(figures, m.figures);
    rows.push(...m.rows);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (json) {
    process.stdout.write(JSON.stringify({ ...figures, seconds }) + '\n');
    return;
  }
  printTable(quick, `Ferry benchmarks (${chosen.map((s) => s.flag).join(', ')})`, seconds, rows);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
