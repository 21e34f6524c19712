import { describe, expect, it } from 'vitest';
import type { Call } from '../../shared/protocol/domain.js';
import type { Execution } from '../../shared/protocol/execution.js';
import { makeBundle } from '../helpers/bundles.js';
import { fixture } from '../helpers/fixtures.js';
import { http, upload, withAuth } from '../helpers/http.js';
import { startSupervisedCluster, type SupervisedCluster } from '../helpers/supervised-cluster.js';
import { waitUntil } from '../helpers/temp.js';
import { everyPage } from '../helpers/pages.js';

type CallView = Omit<Call, 'executions'> & { currentExecution: Execution | null };

/** What one sync caller saw. */
type SyncOutcome =
  | { kind: 'result'; startedAt: number; endedAt: number; call: CallView }
  | { kind: 'accepted'; startedAt: number; endedAt: number; id: string }
  | { kind: 'error'; startedAt: number; endedAt: number; status: number; code: string }
  | { kind: 'unreachable'; startedAt: number; endedAt: number; message: string };

interface Fault {
  name: string;
  /** Does the fault; resolves once it is done (a stopped worker is resumed). */
  act(c: SupervisedCluster): Promise<void>;
  at?: number;
  /** When the first sync call begun after the fault came back with its result. */
  recoveredAt?: number;
}

const kill9 = (pid: number): void => {
  process.kill(pid, 'SIGKILL');
};

const faults: Fault[] = [
  { name: 'db', act: async (c) => kill9(c.pid('db')) },
  { name: 'registry', act: async (c) => kill9(c.pid('registry')) },
  { name: 'api', act: async (c) => kill9(c.pid('api')) },
  { name: 'worker', act: async (c) => kill9(c.pid('worker')) },
  {
    name: 'miniworker',
    act: async (c) => {
      const [pid] = c.miniworkers();
      if (pid === undefined) throw new Error('no miniworker to kill');
      kill9(pid);
    },
  },
  {
    name: 'worker SIGSTOP past liveness',
    act: async (c) => {
      const pid = c.pid('worker');
      const lostBefore = c.logs.filter((l) => l['msg'] === 'node lost').length;
      process.kill(pid, 'SIGSTOP');
      try {
        await waitUntil(() => c.logs.filter((l) => l['msg'] === 'node lost').length > lostBefore, 'the api declares the stopped node lost', 30_000);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    },
  },
];

const FINAL = new Set(['DONE', 'ERROR', 'TIMEOUT', 'KILLED', 'CANCELLED']);

async function allCalls(url: string): Promise<CallView[]> {
  return everyPage<CallView>(`${url}/v1/calls?limit=1000`, 'calls');
}

describe('fault matrix: the cluster as npm start runs it, under steady load', () => {
  it('kill -9 of db, registry, api, worker and a miniworker, and a worker stopped past the liveness window: every accepted call ends once', async () => {
    // Five attempts: a call caught by more than one of the faults still ends DONE.
    const c = await startSupervisedCluster({ FERRY_NODE_ID: 'fm-node', FERRY_MAX_ATTEMPTS: '5', FERRY_MAX_CONTAINERS: '4' });
    try {
      const runtime = { name: 'py-agent', image: 'pythonruntime', path: '/ws', run: 'main.py', protocol: 'agent' };
      expect((await http('POST', `${c.url}/v1/runtimes`, runtime)).status).toBe(201);
      const b = await makeBundle(c.dir, 'fm', await fixture('slow'));
      expect((await upload(`${c.url}/v1/functions/fm`, b.file, { runtime: 'py-agent' })).status).toBe(201);

      const sync: SyncOutcome[] = [];
      const asyncAccepted: string[] = [];
      let asyncRefused = 0;
      let loading = true;
      const invoke = (wait: boolean): Promise<Response> =>
        fetch(`${c.url}/v1/functions/fm/invoke${wait ? '?wait=true' : ''}`, {
          method: 'POST',
          headers: withAuth(c.url, { 'content-type': 'application/json' }),
          body: JSON.stringify({ seconds: 0.05 }),
        });
      const syncCaller = async (): Promise<void> => {
        while (loading) {
          const startedAt = Date.now();
          try {
            const res = await invoke(true);
            const body = (await res.json()) as CallView & { id: string; error?: { code: string } };
            const endedAt = Date.now();
            if (res.status === 200) sync.push({ kind: 'result', startedAt, endedAt, call: body });
            else if (res.status === 202) sync.push({ kind: 'accepted', startedAt, endedAt, id: body.id });
            else sync.push({ kind: 'error', startedAt, endedAt, status: res.status, code: body.error?.code ?? '' });
          } catch (err) {
            sync.push({ kind: 'unreachable', startedAt, endedAt: Date.now(), message: String(err) });
            // The api is down: a caller backs off before it tries again.
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      const asyncCaller = async (): Promise<void> => {
        while (loading) {
          try {
            const res = await invoke(false);
            const body = (await res.json()) as { id: string };
            if (res.status === 202) asyncAccepted.push(body.id);
            else asyncRefused += 1;
          } catch {
            asyncRefused += 1;
          }
          // A steady trickle of background work beside the sync callers.
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const load = Promise.all([syncCaller(), syncCaller(), syncCaller(), asyncCaller()]);

      const results = (after: number): number => sync.filter((s) => s.kind === 'result' && s.startedAt > after).length;
      let calm = Date.now();
      for (const fault of faults) {
        await waitUntil(() => results(calm) >= 10, `the cluster serves calls before the ${fault.name} fault`, 120_000);
        fault.at = Date.now();
        await fault.act(c);
        const resumedAt = Date.now();
        await waitUntil(() => results(resumedAt) > 0, `a sync call succeeds after the ${fault.name} fault`, 120_000);
        fault.recoveredAt = Math.min(...sync.filter((s) => s.kind === 'result' && s.startedAt > resumedAt).map((s) => s.endedAt));
        calm = Date.now();
      }
      loading = false;
      await load;

      let calls: CallView[] = [];
      await waitUntil(
        async () => {
          calls = await allCalls(c.url);
          return calls.every((x) => FINAL.has(x.status));
        },
        'every stored call has ended',
        180_000,
      );

      // Nothing accepted is lost, and every accepted call ended DONE.
      const stored = new Map(calls.map((x) => [x.id, x]));
      const accepted = [...asyncAccepted, ...sync.flatMap((s) => (s.kind === 'accepted' ? [s.id] : s.kind === 'result' ? [s.call.id] : []))];
      expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
      expect(calls.filter((x) => x.status !== 'DONE').map((x) => [x.id, x.status, x.error])).toEqual([]);
      expect(calls.every((x) => x.result === 'woke')).toBe(true);

      // Each execution ended at most once: only the last one ran to its end, every earlier one
      // was given up (its node lost or restarted, or it could not run there).
      for (const x of calls) {
        const { executions } = (await http<{ executions: Execution[] }>('GET', `${c.url}/v1/calls/${x.id}/executions`)).body;
        expect(executions.map((e) => e.attempt)).toEqual(Array.from({ length: x.attempt }, (_, i) => i + 1));
        expect(executions.at(-1)?.state).toBe('DONE');
        for (const e of executions.slice(0, -1)) {
          expect(['LOST', 'FAILED']).toContain(e.state);
          expect(e.finishedAt).not.toBeNull();
        }
      }

      // A sync caller got its result (the call as stored), a JSON error, or no answer only while the api was down.
      for (const s of sync) {
        if (s.kind === 'result') expect(stored.get(s.call.id)).toMatchObject({ status: 'DONE', result: s.call.result });
        if (s.kind === 'error') expect(s.code).not.toBe('');
      }
      const api = faults.find((f) => f.name === 'api')!;
      const unreachable = sync.filter((s) => s.kind === 'unreachable');
      expect(unreachable.every((s) => s.endedAt >= api.at! && s.startedAt <= api.recoveredAt!)).toBe(true);

      const rows = faults.map((f, i) => {
        const until = faults[i + 1]?.at ?? Infinity;
        const inWindow = calls.filter((x) => x.createdAt >= f.at! && x.createdAt < until);
        return {
          fault: f.name,
          accepted: inWindow.length,
          ended: inWindow.filter((x) => FINAL.has(x.status)).length,
          attempts: inWindow.reduce((n, x) => n + x.attempt, 0),
          retried: inWindow.filter((x) => x.attempt > 1).length,
          recoverMs: f.recoveredAt! - f.at!,
        };
      });
      // The figures for the record: per fault, calls accepted in its window, ended, attempts used, time to recover.
      console.log(
        `fault matrix (sync results ${sync.filter((s) => s.kind === 'result').length}, sync errors ${sync.filter((s) => s.kind === 'error').length}, ` +
          `sync unreachable ${unreachable.length}, async accepted ${asyncAccepted.length}, async refused ${asyncRefused})\n` +
          rows.map((r) => `${r.fault.padEnd(30)} accepted ${r.accepted}  ended ${r.ended}  attempts ${r.attempts}  retried ${r.retried}  recovered in ${r.recoverMs} ms`).join('\n'),
      );
      expect(rows.every((r) => r.ended === r.accepted)).toBe(true);
    } finally {
      await c.close();
    }
  }, 900_000);
});
