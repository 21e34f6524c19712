import type { JSX } from 'preact';
import { post } from '../api';
import { useMay } from '../auth';
import { LiveDot } from '../live';
import { ActionButton, ErrorNote, Section } from '../parts/common';
import { duration, time } from '../parts/format';
import { PagedTable } from '../parts/paged-table';
import { Facts } from '../parts/table';
import { CountsBar, endedOf, ProgressBar, StatusBadge } from '../parts/status';
import { Link } from '../router';
import type { RunDetail, RunView } from '../types';
import { useGroup, usePaged } from '../use-paged';

export function RunsPage(): JSX.Element {
  const list = usePaged<{ runs: RunView[]; nextCursor: string | null }>('/v1/runs');
  return (
    <Section title="Runs">
      <PagedTable
        paged={list}
        rows={(p) => p.runs}
        empty="No runs."
        columns={['id', 'function', 'status', 'progress', 'submitted', 'took']}
        row={(r) => (
          <tr key={r.id}>
            <td class="mono">
              <Link href={`/runs/${r.id}`}>{r.id}</Link>
            </td>
            <td>{r.function}</td>
            <td>
              <StatusBadge status={r.status} />
            </td>
            <td class="wide">
              <ProgressBar fraction={endedOf(r.counts) / Math.max(1, r.times)} label={`${endedOf(r.counts)}/${r.times}`} />
            </td>
            <td>{time(r.submittedAt)}</td>
            <td>{duration(r.duration)}</td>
          </tr>
        )}
      />
    </Section>
  );
}

/** One run: its progress and counts (live), its calls by detail id, cancel. */
export function RunPage({ id }: { id: string }): JSX.Element {
  const may = useMay();
  const path = `/v1/runs/${encodeURIComponent(id)}`;
  const { view, list, live } = useGroup<RunView, { details: RunDetail[]; nextCursor: string | null }>(path, [`${path}/details`], (c) => c.groupId === id);
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
        <Facts
          facts={[
            ['function', r.function],
            ['status', <StatusBadge status={r.status} />, 'run-status'],
            ['submitted', time(r.submittedAt)],
            ['start', time(r.start)],
            ['end', time(r.end)],
            ['took', duration(r.duration)],
          ]}
        />
        <ProgressBar fraction={endedOf(r.counts) / Math.max(1, r.times)} label={`${endedOf(r.counts)}/${r.times} ended`} />
        <CountsBar counts={r.counts} total={r.times} />
      </Section>
      <Section title="Calls">
        <PagedTable
          paged={list}
          rows={(p) => p.details}
          empty="No calls yet."
          columns={['detail', 'call', 'status', 'start', 'took']}
          row={(d) => (
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
          )}
        />
      </Section>
    </div>
  );
}
