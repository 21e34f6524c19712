import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { LineChart } from '../parts/chart';
import { duration } from '../parts/format';
import { ErrorNote, Section } from '../parts/common';
import { StatusBadge } from '../parts/status';
import { Link } from '../router';
import { CALL_STATUSES, type Stats } from '../types';
import { useApi } from '../use-api';
import { CallTable } from './call-rows';

const WINDOW_SECS = 3600;
const STEP_SECS = 60;
/** The overview reads the stats again this often: one small aggregate, not the call list. */
const REFRESH_MS = 10_000;

/** The cluster at a glance: calls per status, queue, nodes, the last hour's rate and latency, recent failures. */
export function OverviewPage(): JSX.Element {
  const stats = useApi<Stats>(`/v1/stats?windowSecs=${WINDOW_SECS}&stepSecs=${STEP_SECS}`);
  useEffect(() => {
    const t = setInterval(stats.reload, REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  const s = stats.data;
  if (!s) return stats.error ? <ErrorNote error={stats.error} /> : <p class="loading">loading…</p>;
  const xs = s.series.map((p) => p.t);
  const perSec = (n: number): number => n / STEP_SECS;
  return (
    <div class="page">
      <div class="tiles" data-testid="tiles">
        <Tile label="queued" value={s.queued} />
        <Tile label="running" value={s.running} />
        <Tile label="nodes up" value={s.nodesUp} href="/nodes" />
        {CALL_STATUSES.map((st) => (
          <Tile label={st} value={s.counts[st] ?? 0} href={`/calls?status=${st}`} status={st} />
        ))}
      </div>
      <ErrorNote error={stats.error} />
      <div class="grid2">
        <Section title="Calls per second, last hour">
          <LineChart
            title="calls/s"
            xs={xs}
            lines={[
              { name: 'started', values: s.series.map((p) => perSec(p.started)), class: 'c1' },
              { name: 'ended', values: s.series.map((p) => perSec(p.ended)), class: 'c2' },
              { name: 'failed', values: s.series.map((p) => perSec(p.failed)), class: 'c3' },
            ]}
          />
        </Section>
        <Section title="Latency, last hour">
          <LineChart
            title="run time"
            yLabel={duration}
            xs={xs}
            lines={[
              { name: 'p50', values: s.series.map((p) => p.p50Ms), class: 'c1' },
              { name: 'p99', values: s.series.map((p) => p.p99Ms), class: 'c3' },
            ]}
          />
        </Section>
      </div>
      <Section title="Recent failures" actions={<Link href="/dead-letters">dead letters →</Link>}>
        <CallTable rows={s.recentFailures} />
      </Section>
    </div>
  );
}

function Tile({ label, value, href, status }: { label: string; value: number; href?: string; status?: string }): JSX.Element {
  const body = (
    <>
      <div class="tile-value">{value}</div>
      <div class="tile-label">{status ? <StatusBadge status={status} /> : label}</div>
    </>
  );
  return <div class="tile">{href ? <Link href={href}>{body}</Link> : body}</div>;
}
