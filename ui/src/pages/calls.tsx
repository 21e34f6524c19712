import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, query } from '../api';
import { LiveDot, useCallEvents } from '../live';
import { ErrorNote, Pager, Section } from '../parts/common';
import { fromLocalInput, toLocalInput } from '../parts/format';
import { navigate, useLocation } from '../router';
import { CALL_STATUSES, type Call, type CallPage, type CallSummary } from '../types';
import { CallTable, rowOf, type CallRow } from './call-rows';

const PAGE_SIZE = 50;
/** How many rows live updates may grow the first page to before the oldest drop off. */
const MAX_LIVE_ROWS = 200;

interface Filters {
  funcName: string;
  status: string;
  sessionId: string;
  nodeId: string;
  from: string;
  to: string;
  q: string;
}
const FILTER_NAMES = ['funcName', 'status', 'sessionId', 'nodeId', 'from', 'to', 'q'] as const;

const filtersOf = (q: URLSearchParams): Filters =>
  Object.fromEntries(FILTER_NAMES.map((n) => [n, q.get(n) ?? ''])) as unknown as Filters;

/** Whether a call told by the events stream belongs in the list the filters ask for. */
function matches(f: Filters, c: CallSummary): boolean {
  if (f.q) return false; // the text search runs on the api; a new call is not searched here
  if (f.funcName && f.funcName !== c.funcName) return false;
  if (f.status && f.status !== c.status) return false;
  if (f.sessionId && f.sessionId !== c.sessionId) return false;
  if (f.nodeId && f.nodeId !== c.nodeId) return false;
  if (f.from && c.createdAt < Number(f.from)) return false;
  if (f.to && c.createdAt > Number(f.to)) return false;
  return true;
}

/** A call id or a callNum: what the search box opens directly. */
const CALL_REF = /^(\d{1,16}|[A-Za-z0-9_-]{21})$/;

/** Every call, newest first, filtered and paged; new calls and changes of status arrive live. */
export function CallsPage(): JSX.Element {
  const { query: q } = useLocation();
  const filters = filtersOf(q);
  const key = FILTER_NAMES.map((n) => filters[n]).join('\u0000');
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ rows: CallRow[]; next: string | null; scanned?: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [streamOpen, setStreamOpen] = useState(false);
  const loadSeq = useRef(0);

  const load = (): void => {
    const seq = ++loadSeq.current;
    const cursor = cursors.at(-1);
    get<CallPage>(`/v1/calls${query({ ...filters, limit: PAGE_SIZE, cursor })}`).then(
      (p) => {
        if (seq !== loadSeq.current) return;
        setPage({ rows: p.calls.map(rowOf), next: p.nextCursor, ...(p.scanned !== undefined ? { scanned: p.scanned } : {}) });
        setError(null);
      },
      (err: ApiError) => seq === loadSeq.current && setError(err),
    );
  };
  useEffect(() => setCursors((c) => (c.length > 0 ? [] : c)), [key]);
  useEffect(() => {
    if (streamOpen) load();
  }, [key, cursors, streamOpen]);

  const live = useCallEvents({
    onOpen: () => (streamOpen ? load() : setStreamOpen(true)),
    onCall: (c) =>
      setPage((p) => {
        if (!p) return p;
        const i = p.rows.findIndex((r) => r.id === c.id);
        if (i >= 0) {
          const rows = [...p.rows];
          rows[i] = { ...rows[i], ...c };
          return { ...p, rows };
        }
        // Only the first page grows: a later page shows older calls.
        if (cursors.length > 0 || !matches(filters, c)) return p;
        return { ...p, rows: [c, ...p.rows].slice(0, MAX_LIVE_ROWS) };
      }),
    onProgress: (id, progress) =>
      setPage((p) => (p && p.rows.some((r) => r.id === id) ? { ...p, rows: p.rows.map((r) => (r.id === id ? { ...r, progress } : r)) } : p)),
  }, filters.funcName || undefined);

  const setFilter = (changes: Partial<Filters>): void => {
    const next = { ...filters, ...changes };
    navigate(`/calls${query(next)}`, { replace: true });
  };
  const search = (e: Event): void => {
    e.preventDefault();
    const text = ((e.target as HTMLFormElement).elements.namedItem('q') as HTMLInputElement).value.trim();
    if (!CALL_REF.test(text)) return setFilter({ q: text });
    // An id or a callNum opens that call; anything else searches the calls' text.
    get<Call>(`/v1/calls/${encodeURIComponent(text)}`).then(
      (c) => navigate(`/calls/${c.id}`),
      () => setFilter({ q: text }),
    );
  };

  return (
    <Section title="Calls" actions={<LiveDot state={live} />}>
      <form class="filters" onSubmit={search} key={key}>
        <input name="q" placeholder="id, callNum or text" defaultValue={filters.q} aria-label="search" />
        <button type="submit">search</button>
        <FilterInput name="funcName" label="function" filters={filters} set={setFilter} />
        <select aria-label="status" value={filters.status} onChange={(e) => setFilter({ status: (e.target as HTMLSelectElement).value })}>
          <option value="">any status</option>
          {CALL_STATUSES.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <FilterInput name="sessionId" label="session" filters={filters} set={setFilter} />
        <FilterInput name="nodeId" label="node" filters={filters} set={setFilter} />
        <TimeFilter name="from" filters={filters} set={setFilter} />
        <TimeFilter name="to" filters={filters} set={setFilter} />
        {key.replace(/\u0000/g, '') ? (
          <button type="button" class="link" onClick={() => navigate('/calls', { replace: true })}>
            clear
          </button>
        ) : null}
      </form>
      <ErrorNote error={error} />
      {page ? (
        <>
          <CallTable rows={page.rows} />
          {filters.q && page.scanned !== undefined ? <p class="hint">{`searched ${page.scanned} calls`}</p> : null}
          <Pager cursors={cursors} next={page.next} onChange={setCursors} />
        </>
      ) : error ? null : (
        <p class="loading">loading…</p>
      )}
    </Section>
  );
}

type FilterProps<N extends keyof Filters> = { name: N; filters: Filters; set: (changes: Partial<Filters>) => void };

/** A text filter, applied when it changes (on enter or leaving the field). */
function FilterInput({ name, label, filters, set }: FilterProps<'funcName' | 'sessionId' | 'nodeId'> & { label: string }): JSX.Element {
  return <input placeholder={label} aria-label={label} defaultValue={filters[name]} onChange={(e) => set({ [name]: (e.target as HTMLInputElement).value.trim() })} />;
}

/** A bound of the creation time, in the browser's local time; the filter holds epoch ms. */
function TimeFilter({ name, filters, set }: FilterProps<'from' | 'to'>): JSX.Element {
  return (
    <label>
      {`${name} `}
      <input
        type="datetime-local"
        aria-label={name}
        value={toLocalInput(filters[name] ? Number(filters[name]) : undefined)}
        onChange={(e) => set({ [name]: String(fromLocalInput((e.target as HTMLInputElement).value) ?? '') })}
      />
    </label>
  );
}
