import { http } from '../helpers/http.js';
import { deploySleeper, listedNodes, movedOff, netnsUnavailable, SLEEPER, startNetnsCluster, type NetnsCluster } from '../helpers/netns-cluster.js';
import { waitUntil } from '../helpers/temp.js';
import type { RunDetail, RunView } from '../../shared/protocol/run-view.js';
import type { CallView } from '../../shared/protocol/call-view.js';
import { median, round } from './stats.js';
import type { Row } from './table.js';

/** Each call of the sleep-bound function sleeps this long. */
const SLEEP_MS = 300;
/** Containers per worker host: the calls one host runs at once. */
const CONTAINERS = 4;
/** The heartbeat the failover figures are taken at, beside the default (1000 ms). */
const FAST_HEARTBEAT_MS = 500;

export interface HostsFigures {
  /** From the link cut to the last of the cut host's calls sent to another host, ms (median of the cuts). */
  hosts_requeue_dispatch_ms: number;
  /** From the link cut to the last of them DONE there. */
  hosts_requeue_done_ms: number;
  /** The same with the default heartbeat (FERRY_HEARTBEAT_MS=1000). */
  hosts_requeue_dispatch_ms_default_heartbeat: number;
  hosts_requeue_done_ms_default_heartbeat: number;
  /** From the link restored to the node listed by the api again, ms (median). */
  hosts_rejoin_ms: number;
  /** Calls of the sleep-bound function per second with 1, 2 and 3 worker hosts (median of the runs). */
  hosts_calls_per_s_1: number;
  hosts_calls_per_s_2: number;
  hosts_calls_per_s_3: number;
  /** calls/s with k hosts over k × calls/s with one: 1 is linear. */
  hosts_linear_ratio_2: number;
  hosts_linear_ratio_3: number;
  /** Calls/s one host could give at most: containers / sleep. */
  hosts_ideal_calls_per_s_1: number;
}

/** A run of `times` calls of the sleeper, made now: its id. */
async function startRun(c: NetnsCluster, times: number): Promise<string> {
  const made = await http<{ id: string }>('POST', `${c.url}/v1/functions/${SLEEPER}/runs`, { times, params: { ms: SLEEP_MS } });
  if (made.status !== 201) throw new Error(`run not made: ${made.status} ${made.text}`);
  return made.body.id;
}

/** The run once every call of it has ended; a run still going after 2 minutes fails with its unfinished calls' attempts. */
async function runEnded(c: NetnsCluster, runId: string): Promise<RunView> {
  let run: RunView | undefined;
  try {
    await waitUntil(
      async () => {
        run = (await http<RunView>('GET', `${c.url}/v1/runs/${runId}`)).body;
        return run.end !== null;
      },
      'the run has ended',
      120_000,
    );
  } catch (err) {
    const details = (await http<{ details: RunDetail[] }>('GET', `${c.url}/v1/runs/${runId}/details?limit=1000`)).body.details;
    const unfinished = await Promise.all(
      details.filter((d) => d.end === null).map(async (d) => (await http('GET', `${c.url}/v1/calls/${d.callId}/executions`)).text),
    );
    throw new Error(`${(err as Error).message}: ${JSON.stringify(run?.counts)}; unfinished: ${unfinished.join('\n')}`);
  }
  return run!;
}

/** A run of `times` calls of the sleeper, once it has ended COMPLETE. */
async function runToEnd(c: NetnsCluster, times: number): Promise<RunView> {
  const run = await runEnded(c, await startRun(c, times));
  if (run.status !== 'COMPLETE') throw new Error(`run ended ${run.status}: ${JSON.stringify(run.counts)}`);
  return run;
}

async function runCallIds(c: NetnsCluster, runId: string): Promise<string[]> {
  return (await http<{ details: RunDetail[] }>('GET', `${c.url}/v1/runs/${runId}/details?limit=1000`)).body.details.map((d) => d.callId);
}

/** Calls/s of runs that keep `hosts` hosts busy for `rounds` sleeps each (median of `repeats`). */
async function callsPerSecond(c: NetnsCluster, hosts: number, rounds: number, repeats: number): Promise<number> {
  const times = hosts * CONTAINERS * rounds;
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const run = await runToEnd(c, times);
    rates.push(times / (run.duration! / 1000));
  }
  return round(median(rates), 1);
}

/**
 * Cuts worker host `host` off while a run keeps every host busy, restores it once the run has
 * ended, and waits for it to rejoin: ms from the cut to the last requeued call's new dispatch and
 * to its DONE, and from the restore to the node listed again.
 */
async function cutAndRestore(c: NetnsCluster, host: `w${number}`): Promise<{ dispatchMs: number; doneMs: number; rejoinMs: number }> {
  const nodeId = c.nodeId(host);
  const runId = await startRun(c, 3 * CONTAINERS * 4);
  const running = async (): Promise<boolean> =>
    (await http<{ calls: CallView[] }>('GET', `${c.url}/v1/calls?funcName=${SLEEPER}&nodeId=${nodeId}&status=RUNNING&limit=1`)).body.calls.length > 0;
  await waitUntil(running, `a call runs on ${host}`, 60_000);
  // The link goes down during the command: timed from its start, the figures err long.
  const cutAt = Date.now();
  await c.sh('cut', host);
  await runEnded(c, runId);
  const moved = await movedOff(c, await runCallIds(c, runId), nodeId);
  if (moved.length === 0) throw new Error(`no call moved off ${host}`);
  const lastDispatch = Math.max(...moved.map((x) => x.executions.find((e) => e.attempt === x.attempt)!.createdAt));
  const lastDone = Math.max(...moved.map((x) => x.finishedAt!));
  await c.sh('restore', host);
  const restoredAt = Date.now();
  await waitUntil(async () => (await listedNodes(c)).includes(nodeId), `${host} is listed again`, 60_000);
  return { dispatchMs: lastDispatch - cutAt, doneMs: lastDone - cutAt, rejoinMs: Date.now() - restoredAt };
}

async function failover(c: NetnsCluster, cuts: number): Promise<{ dispatchMs: number; doneMs: number; rejoinMs: number }> {
  const each: { dispatchMs: number; doneMs: number; rejoinMs: number }[] = [];
  for (let i = 0; i < cuts; i++) each.push(await cutAndRestore(c, `w${(i % 3) + 1}`));
  return {
    dispatchMs: median(each.map((e) => e.dispatchMs)),
    doneMs: median(each.map((e) => e.doneMs)),
    rejoinMs: median(each.map((e) => e.rejoinMs)),
  };
}

async function withCluster<T>(heartbeatMs: number, measure: (c: NetnsCluster) => Promise<T>): Promise<T> {
  const c = await startNetnsCluster({ workers: 3, settings: { FERRY_HEARTBEAT_MS: String(heartbeatMs), FERRY_MAX_CONTAINERS: String(CONTAINERS) } });
  try {
    await deploySleeper(c);
    // Every host's containers warm before anything is timed.
    await runToEnd(c, 3 * CONTAINERS * 3);
    return await measure(c);
  } finally {
    await c.close();
  }
}

/**
 * Ferry on hosts made of network namespaces (`deploy/netns-cluster.sh`): the requeue time after a
 * worker host's link is cut (at a 500 ms heartbeat and at the default), and a sleep-bound
 * function's calls/s with 1, 2 and 3 worker hosts (the hosts beyond k stopped). Skipped, with
 * the reason, when namespaces cannot be made here (not root, no `ip netns`).
 */
export async function hostsFigures(quick: boolean, say: (line: string) => void): Promise<HostsFigures | { skipped: string }> {
  const unavailable = netnsUnavailable();
  if (unavailable) return { skipped: unavailable };
  const cuts = quick ? 1 : 3;
  const rounds = quick ? 4 : 10;
  const repeats = quick ? 1 : 3;
  say(`hosts: 5 network namespaces, ${CONTAINERS} containers a worker host, calls sleeping ${SLEEP_MS} ms; heartbeat ${FAST_HEARTBEAT_MS} ms`);
  const fast = await withCluster(FAST_HEARTBEAT_MS, async (c) => {
    say(`hosts: ${cuts} link cut(s) and restore(s)`);
    const cut = await failover(c, cuts);
    say('hosts: calls/s with 3, 2, then 1 worker host');
    const perS3 = await callsPerSecond(c, 3, rounds, repeats);
    await c.sh('stop', 'w3');
    await waitUntil(async () => !(await listedNodes(c)).includes(c.nodeId('w3')), 'w3 is gone');
    const perS2 = await callsPerSecond(c, 2, rounds, repeats);
    await c.sh('stop', 'w2');
    await waitUntil(async () => !(await listedNodes(c)).includes(c.nodeId('w2')), 'w2 is gone');
    const perS1 = await callsPerSecond(c, 1, rounds, repeats);
    return { cut, perS1, perS2, perS3 };
  });
  say(`hosts: ${cuts} link cut(s) at the default heartbeat`);
  const slow = await withCluster(1000, (c) => failover(c, cuts));
  return {
    hosts_requeue_dispatch_ms: Math.round(fast.cut.dispatchMs),
    hosts_requeue_done_ms: Math.round(fast.cut.doneMs),
    hosts_requeue_dispatch_ms_default_heartbeat: Math.round(slow.dispatchMs),
    hosts_requeue_done_ms_default_heartbeat: Math.round(slow.doneMs),
    hosts_rejoin_ms: Math.round(fast.cut.rejoinMs),
    hosts_calls_per_s_1: fast.perS1,
    hosts_calls_per_s_2: fast.perS2,
    hosts_calls_per_s_3: fast.perS3,
    hosts_linear_ratio_2: round(fast.perS2 / (2 * fast.perS1)),
    hosts_linear_ratio_3: round(fast.perS3 / (3 * fast.perS1)),
    hosts_ideal_calls_per_s_1: round((CONTAINERS * 1000) / SLEEP_MS, 1),
  };
}

export function hostsRows(f: HostsFigures | { skipped: string }): Row[] {
  if ('skipped' in f) return [['several hosts (network namespaces)', `skipped: ${f.skipped}`, '', '']];
  return [
    [
      `worker host cut off: ms to its calls' new dispatch / DONE elsewhere (FERRY_HEARTBEAT_MS=${FAST_HEARTBEAT_MS})`,
      `${f.hosts_requeue_dispatch_ms} / ${f.hosts_requeue_done_ms}`,
      '≤ 3,000',
      `default heartbeat ${f.hosts_requeue_dispatch_ms_default_heartbeat} / ${f.hosts_requeue_done_ms_default_heartbeat}`,
    ],
    ['link restored: ms until the api lists the node again', `${f.hosts_rejoin_ms}`, '', ''],
    [
      `sleep-bound calls/s with 1 / 2 / 3 worker hosts (${SLEEP_MS} ms calls, ${CONTAINERS} containers a host)`,
      `${f.hosts_calls_per_s_1} / ${f.hosts_calls_per_s_2} / ${f.hosts_calls_per_s_3}`,
      '',
      `one host's ideal ${f.hosts_ideal_calls_per_s_1}`,
    ],
    ['… over linear at 2 / 3 hosts', `${f.hosts_linear_ratio_2} / ${f.hosts_linear_ratio_3}`, '≥ 0.9 at 3', '1 host × k'],
  ];
}
