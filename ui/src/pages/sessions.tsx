import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { useMay } from '../auth';
import { LiveDot } from '../live';
import { ActionButton, ErrorNote, Pager, Section } from '../parts/common';
import { PagedTable } from '../parts/paged-table';
import { Facts } from '../parts/table';
import { time } from '../parts/format';
import { CountsBar, StatusBadge } from '../parts/status';
import { Link } from '../router';
import type { CallPage, ResultPage, SessionView } from '../types';
import { useGroup, usePaged } from '../use-paged';
import { CallTable, rowOf } from './call-rows';

export function SessionsPage(): JSX.Element {
  const list = usePaged<{ sessions: SessionView[]; nextCursor: string | null }>('/v1/sessions');
  return (
    <Section title="Sessions">
      <PagedTable
        paged={list}
        rows={(p) => p.sessions}
        empty="No sessions."
        columns={['id', 'state', 'calls', 'created']}
        row={(s) => (
          <tr key={s.id}>
            <td class="mono">
              <Link href={`/sessions/${s.id}`}>{s.id}</Link>
            </td>
            <td>
              <StatusBadge status={s.state} />
            </td>
            <td class="wide">
              <CountsBar counts={s.counts} total={s.total} />
            </td>
            <td>{time(s.createdAt)}</td>
          </tr>
        )}
      />
    </Section>
  );
}

/** One session: its counts (live), its calls, kill and start, and its result pages. */
export function SessionPage({ id }: { id: string }): JSX.Element {
  const may = useMay();
  const { view, list: calls, live } = useGroup<SessionView, CallPage>(`/v1/sessions/${encodeURIComponent(id)}`, ['/v1/calls', { sessionId: id }], (c) => c.sessionId === id);
  const s = view.data;
  if (!s) return view.error ? <ErrorNote error={view.error} /> : <p class="loading">loading…</p>;
  const ended = s.state === 'killed' || s.state === 'finished';
  return (
    <div class="page">
      <Section
        title={`Session ${s.id}`}
        actions={
          <>
            <LiveDot state={live} />
            {may('invoke') && s.state === 'open' ? <ActionButton label="Start" run={() => post(`/v1/sessions/${s.id}/start`).then(view.reload)} /> : null}
            {may('invoke') && !ended ? (
              <ActionButton label="Kill" class="danger" confirm={`Kill session ${s.id}? Waiting calls are cancelled, running ones killed.`} run={() => post(`/v1/sessions/${s.id}/kill`).then(view.reload)} />
            ) : null}
          </>
        }
      >
        <Facts
          facts={[
            ['state', <StatusBadge status={s.state} />, 'session-state'],
            ['calls', s.total],
            ['created', time(s.createdAt)],
            ['started', time(s.startedAt)],
            ['finished', time(s.finishedAt)],
            ['killed', time(s.killedAt)],
          ]}
        />
        <CountsBar counts={s.counts} total={s.total} />
      </Section>
      <Section title="Calls">
        <ErrorNote error={calls.error} />
        {calls.data ? <CallTable rows={calls.data.calls.map(rowOf)} /> : null}
        {calls.data ? <Pager cursors={calls.cursors} next={calls.data.nextCursor} onChange={calls.setCursors} /> : null}
      </Section>
      <ResultPages id={s.id} mayMake={may('invoke')} />
    </div>
  );
}

/** A session's result pages: make the next (it moves the session's reading on), or read one again by number. */
function ResultPages({ id, mayMake }: { id: string; mayMake: boolean }): JSX.Element {
  const [page, setPage] = useState<ResultPage | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [wanted, setWanted] = useState('');
  const show = (p: Promise<ResultPage>): Promise<void> =>
    p.then(
      (r) => {
        setPage(r);
        setError(null);
      },
      (err: ApiError) => setError(err),
    );
  return (
    <Section
      title="Result pages"
      actions={mayMake ? <ActionButton label="Next result page" run={() => show(post<ResultPage>(`/v1/sessions/${id}/results`))} /> : null}
    >
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void show(get<ResultPage>(`/v1/sessions/${id}/results/${encodeURIComponent(wanted)}`));
        }}
      >
        <input type="number" min={1} placeholder="page" aria-label="result page" value={wanted} onInput={(e) => setWanted((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={wanted === ''}>
          read page
        </button>
      </form>
      <ErrorNote error={error} />
      {page ? (
        page.page === null ? (
          <p class="empty">No call has ended since the last page.</p>
        ) : (
          <>
            <p class="hint">{`page ${page.page}: ${page.calls.length} calls`}</p>
            <CallTable rows={page.calls.map(rowOf)} />
          </>
        )
      ) : null}
    </Section>
  );
}
