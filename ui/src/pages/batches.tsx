import type { JSX } from 'preact';
import { post } from '../api';
import { useMay } from '../auth';
import { LiveDot } from '../live';
import { ActionButton, ErrorNote, Json, Section } from '../parts/common';
import { duration, time } from '../parts/format';
import { PagedTable } from '../parts/paged-table';
import { Facts } from '../parts/table';
import { CountsBar, endedOf, ProgressBar, StatusBadge } from '../parts/status';
import { Link } from '../router';
import type { BatchResult, BatchView, CallSummary } from '../types';
import { useGroup, usePaged } from '../use-paged';

export function BatchesPage(): JSX.Element {
  const list = usePaged<{ batches: BatchView[]; nextCursor: string | null }>('/v1/batches');
  return (
    <Section title="Batch jobs">
      <PagedTable
        paged={list}
        rows={(p) => p.batches}
        empty="No batch jobs."
        columns={['id', 'worker → combiner', 'state', 'batches', 'started', 'elapsed']}
        row={(b) => (
          <tr key={b.id}>
            <td class="mono">
              <Link href={`/batches/${b.id}`}>{b.id}</Link>
            </td>
            <td>{`${b.worker} → ${b.combiner}`}</td>
            <td>
              <StatusBadge status={b.state} />
            </td>
            <td class="wide">
              <ProgressBar fraction={endedOf(b.counts) / Math.max(1, b.numBatches)} label={`${endedOf(b.counts)}/${b.numBatches}`} />
            </td>
            <td>{time(Date.parse(b.startTime))}</td>
            <td>{duration(b.elapsedSecs * 1000)}</td>
          </tr>
        )}
      />
    </Section>
  );
}

/**
 * A call of batch job `id`: one of its batches (in its group), or its combiner, which is made
 * outside the group once the batches end: a call of the combiner function while the job is not
 * yet over may be it.
 */
const combinerOrBatchOf =
  (id: string) =>
  (c: CallSummary, v: BatchView | null): boolean =>
    c.groupId === id || c.id === v?.combinerCallId || (v !== null && (v.state === 'running' || v.state === 'combining') && `${c.funcName}@${c.version}` === v.combiner);

/** One batch job: its batches' progress (live), the combiner's answer, its partial results, cancel. */
export function BatchPage({ id }: { id: string }): JSX.Element {
  const may = useMay();
  const path = `/v1/batches/${encodeURIComponent(id)}`;
  const { view, list, live } = useGroup<BatchView, { results: BatchResult[]; nextCursor: string | null }>(path, [`${path}/results`], combinerOrBatchOf(id));
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
        <Facts
          facts={[
            ['worker', b.worker],
            ['combiner', b.combinerCallId ? <Link href={`/calls/${b.combinerCallId}`}>{b.combiner}</Link> : b.combiner],
            ['state', <StatusBadge status={b.state} />, 'batch-state'],
            ['started', time(Date.parse(b.startTime))],
            ['elapsed', duration(b.elapsedSecs * 1000)],
          ]}
        />
        <ProgressBar fraction={endedOf(b.counts) / Math.max(1, b.numBatches)} label={`${endedOf(b.counts)}/${b.numBatches} batches ended`} />
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
        <PagedTable
          paged={list}
          rows={(p) => p.results}
          empty="No batch has ended yet."
          columns={['batch', 'range', 'status', 'result']}
          row={(r) => (
            <tr key={r.batchId}>
              <td>{r.batchId}</td>
              <td>{`${r.startIndex}..${r.endIndex}`}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td class="mono">{r.expired ? 'expired' : r.result === null ? '–' : JSON.stringify(r.result)}</td>
            </tr>
          )}
        />
      </Section>
    </div>
  );
}
