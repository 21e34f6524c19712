import type { JSX } from 'preact';
import { post } from '../api';
import { useMay } from '../auth';
import { LiveDot, useCallEvents } from '../live';
import { ActionButton, ErrorNote, Pager, Section } from '../parts/common';
import { duration, time } from '../parts/format';
import { CountsBar, ProgressBar, StatusBadge } from '../parts/status';
import { Link } from '../router';
import { ENDED, type RunDetail, type RunView } from '../types';
import { useApi } from '../use-api';
import { usePaged, useThrottled } from '../use-paged';

const endedOf = (r: RunView): number => ENDED.reduce((n, s) => n + (r.counts[s] ?? 0), 0);

export function RunsPage(): JSX.Element {
  const list = usePaged<{ runs: RunView[]; nextCursor: string | null }>('/v1/runs', { limit: 50 });
  return (
    <Section title="Runs">
      <ErrorNote error={list.error} />
      {list.data && list.data.runs.length === 0 ? <p class="empty">No runs.</p> : null}
      {list.data && list.data.runs.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>id</th>
              <th>function</th>
              <th>status</th>
              <th>progress</th>
              <th>submitted</th>
              <th>took</th>
            </tr>
          </thead>
          <tbody>
            {list.data.runs.map((r) => (
              <tr key={r.id}>
                <td class="mono">
                  <Link href={`/runs/${r.id}`}>{r.id}</Link>
                </td>
                <td>{r.function}</td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td class="wide">
                  <ProgressBar fraction={endedOf(r) / Math.max(1, r.times)} label={`${endedOf(r)}/${r.times}`} />
                </td>
                <td>{time(r.submittedAt)}</td>
                <td>{duration(r.duration)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {list.data ? <Pager cursors={list.cursors} next={list.data.nextCursor} onChange={list.setCursors} /> : null}
    </Section>
  );
}

/** One run: its progress and counts (live), its calls by detail id, cancel. */
export function RunPage({ id }: { id: string }): JSX.Element {
  const may = useMay();
  const view = useApi<RunView>(`/v1/runs/${encodeURIComponent(id)}`);
  const details = usePaged<{ details: RunDetail[]; nextCursor: string | null }>(`/v1/runs/${encodeURIComponent(id)}/details`, { limit: 50 });
  const refresh = useThrottled(() => {
    view.reload();
    details.reload();
  });
  const live = useCallEvents({ onCall: (c) => c.groupId === id && refresh() });
  const r = view.data;
  if (!r) return view.error ? <ErrorNote error={view.error} /> : <p class="loading">loading…</p>;
  const running = r.status === 'QUEUED' || r.status === 'RUNNING';
  return (
    <div class="page">
      <Section
        title={`Run ${r.id}`}
        actions={
          <>
            <LiveDot state={live} />
            {may('invoke') && running ? <ActionButton label="Cancel" class="danger" confirm={`Cancel run ${r.id}'s unfinished calls?`} run={() => post(`/v1/runs/${r.id}/cancel`).then(view.reload)} /> : null}
          </>
        }
      >
        <dl class="facts">
          <dt>function</dt>
          <dd>{r.function}</dd>
          <dt>status</dt>
          <dd data-testid="run-status">
            <StatusBadge status={r.status} />
          </dd>
          <dt>submitted</dt>
          <dd>{time(r.submittedAt)}</dd>
          <dt>start</dt>
          <dd>{time(r.start)}</dd>
          <dt>end</dt>
          <dd>{time(r.end)}</dd>
          <dt>took</dt>
          <dd>{duration(r.duration)}</dd>
        </dl>
        <ProgressBar fraction={endedOf(r) / Math.max(1, r.times)} label={`${endedOf(r)}/${r.times} ended`} />
        <CountsBar counts={r.counts} total={r.times} />
      </Section>
      <Section title="Calls">
        <ErrorNote error={details.error} />
        {details.data ? (
          <table>
            <thead>
              <tr>
                <th>detail</th>
                <th>call</th>
                <th>status</th>
                <th>start</th>
                <th>took</th>
              </tr>
            </thead>
            <tbody>
              {details.data.details.map((d) => (
                <tr key={d.callId}>
                  <td>{d.detailId}</td>
                  <td class="mono">
                    <Link href={`/calls/${d.callId}`}>{d.callId}</Link>
                  </td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{time(d.start)}</td>
                  <td>{duration(d.duration)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {details.data ? <Pager cursors={details.cursors} next={details.data.nextCursor} onChange={details.setCursors} /> : null}
      </Section>
    </div>
  );
}
