import type { JSX } from 'preact';
import { post } from '../api';
import { useMay } from '../auth';
import { LiveDot, useCallEvents } from '../live';
import { ActionButton, ErrorNote, Json, Pager, Section } from '../parts/common';
import { duration } from '../parts/format';
import { CountsBar, ProgressBar, StatusBadge } from '../parts/status';
import { Link } from '../router';
import { ENDED, type BatchResult, type BatchView } from '../types';
import { useApi } from '../use-api';
import { usePaged, useThrottled } from '../use-paged';

const endedOf = (b: BatchView): number => ENDED.reduce((n, s) => n + (b.counts[s] ?? 0), 0);

export function BatchesPage(): JSX.Element {
  const list = usePaged<{ batches: BatchView[]; nextCursor: string | null }>('/v1/batches', { limit: 50 });
  return (
    <Section title="Batch jobs">
      <ErrorNote error={list.error} />
      {list.data && list.data.batches.length === 0 ? <p class="empty">No batch jobs.</p> : null}
      {list.data && list.data.batches.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>id</th>
              <th>worker → combiner</th>
              <th>state</th>
              <th>batches</th>
              <th>started</th>
              <th>elapsed</th>
            </tr>
          </thead>
          <tbody>
            {list.data.batches.map((b) => (
              <tr key={b.id}>
                <td class="mono">
                  <Link href={`/batches/${b.id}`}>{b.id}</Link>
                </td>
                <td>{`${b.worker} → ${b.combiner}`}</td>
                <td>
                  <StatusBadge status={b.state} />
                </td>
                <td class="wide">
                  <ProgressBar fraction={endedOf(b) / Math.max(1, b.numBatches)} label={`${endedOf(b)}/${b.numBatches}`} />
                </td>
                <td>{b.startTime}</td>
                <td>{duration(b.elapsedSecs * 1000)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {list.data ? <Pager cursors={list.cursors} next={list.data.nextCursor} onChange={list.setCursors} /> : null}
    </Section>
  );
}

/** One batch job: its batches' progress (live), the combiner's answer, its partial results, cancel. */
export function BatchPage({ id }: { id: string }): JSX.Element {
  const may = useMay();
  const view = useApi<BatchView>(`/v1/batches/${encodeURIComponent(id)}`);
  const results = usePaged<{ results: BatchResult[]; nextCursor: string | null }>(`/v1/batches/${encodeURIComponent(id)}/results`, { limit: 50 });
  const refresh = useThrottled(() => {
    view.reload();
    results.reload();
  });
  const live = useCallEvents({ onCall: (c) => c.groupId === id && refresh() });
  const b = view.data;
  if (!b) return view.error ? <ErrorNote error={view.error} /> : <p class="loading">loading…</p>;
  return (
    <div class="page">
      <Section
        title={`Batch job ${b.id}`}
        actions={
          <>
            <LiveDot state={live} />
            {may('invoke') && b.state === 'running' ? (
              <ActionButton label="Cancel" class="danger" confirm={`Cancel batch job ${b.id}'s unfinished batches?`} run={() => post(`/v1/batches/${b.id}/cancel`).then(view.reload)} />
            ) : null}
          </>
        }
      >
        <dl class="facts">
          <dt>worker</dt>
          <dd>{b.worker}</dd>
          <dt>combiner</dt>
          <dd>{b.combinerCallId ? <Link href={`/calls/${b.combinerCallId}`}>{b.combiner}</Link> : b.combiner}</dd>
          <dt>state</dt>
          <dd data-testid="batch-state">
            <StatusBadge status={b.state} />
          </dd>
          <dt>started</dt>
          <dd>{b.startTime}</dd>
          <dt>elapsed</dt>
          <dd>{duration(b.elapsedSecs * 1000)}</dd>
        </dl>
        <ProgressBar fraction={endedOf(b) / Math.max(1, b.numBatches)} label={`${endedOf(b)}/${b.numBatches} batches ended`} />
        <CountsBar counts={b.counts} total={b.numBatches} />
        {b.error ? <p class="error">{b.error}</p> : null}
        {b.combinerResult !== null && b.combinerResult !== undefined ? (
          <>
            <h3>combined result</h3>
            <Json value={b.combinerResult} />
          </>
        ) : null}
      </Section>
      <Section title="Partial results">
        <ErrorNote error={results.error} />
        {results.data ? (
          <table>
            <thead>
              <tr>
                <th>batch</th>
                <th>range</th>
                <th>status</th>
                <th>result</th>
              </tr>
            </thead>
            <tbody>
              {results.data.results.map((r) => (
                <tr key={r.batchId}>
                  <td>{r.batchId}</td>
                  <td>{`${r.startIndex}..${r.endIndex}`}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td class="mono">{r.expired ? 'expired' : r.result === null ? '–' : JSON.stringify(r.result)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {results.data ? <Pager cursors={results.cursors} next={results.data.nextCursor} onChange={results.setCursors} /> : null}
      </Section>
    </div>
  );
}
