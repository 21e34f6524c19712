import type { JSX } from 'preact';
import { Link } from '../router';
import { duration, time } from '../parts/format';
import { fractionOf, ProgressBar, StatusBadge } from '../parts/status';
import type { Call, CallSummary, Progress } from '../types';

/** A call as a row of a list: what `/v1/events` tells of it, and its latest progress. */
export type CallRow = CallSummary & { progress?: Progress | null };

export const rowOf = (c: Call): CallRow => ({
  id: c.id,
  callNum: c.callNum,
  funcName: c.funcName,
  version: c.version,
  status: c.status,
  sessionId: c.sessionId,
  groupId: c.groupId ?? null,
  nodeId: c.currentExecution?.nodeId ?? c.workerId,
  createdAt: c.createdAt,
  startedAt: c.startedAt,
  finishedAt: c.finishedAt,
  invokedBy: c.invokedBy ?? null,
  progress: c.progress,
});

/** A table of calls; `select` adds a checkbox per row (dead letters pick calls to run again). */
export function CallTable({ rows, select }: { rows: CallRow[]; select?: { chosen: Set<string>; toggle: (id: string) => void } }): JSX.Element {
  if (rows.length === 0) return <p class="empty">No calls.</p>;
  return (
    <table class="calls" data-testid="calls-table">
      <thead>
        <tr>
          {select ? <th /> : null}
          <th>#</th>
          <th>id</th>
          <th>function</th>
          <th>status</th>
          <th>node</th>
          <th>session / group</th>
          <th>created</th>
          <th>took</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const fraction = r.status === 'RUNNING' ? fractionOf(r.progress) : null;
          return (
            <tr key={r.id} data-call-id={r.id} data-status={r.status}>
              {select ? (
                <td>
                  <input type="checkbox" aria-label={`select call ${r.callNum}`} checked={select.chosen.has(r.id)} onChange={() => select.toggle(r.id)} />
                </td>
              ) : null}
              <td>{r.callNum}</td>
              <td class="mono">
                <Link href={`/calls/${r.id}`}>{r.id}</Link>
              </td>
              <td>
                <Link href={`/functions/${r.funcName}`}>{`${r.funcName}@${r.version}`}</Link>
              </td>
              <td>
                <StatusBadge status={r.status} />
                {fraction !== null ? <ProgressBar fraction={fraction} /> : null}
              </td>
              <td>{r.nodeId ?? '–'}</td>
              <td class="mono">
                {r.sessionId ? <Link href={`/sessions/${r.sessionId}`}>{r.sessionId}</Link> : r.groupId ? r.groupId : '–'}
              </td>
              <td>{time(r.createdAt)}</td>
              <td>{r.startedAt !== null && r.finishedAt !== null ? duration(r.finishedAt - r.startedAt) : '–'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
