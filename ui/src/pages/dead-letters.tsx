import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { post, query } from '../api';
import { useMay } from '../auth';
import { LiveDot, useCallEvents } from '../live';
import { ActionButton, ErrorNote, Pager, Section } from '../parts/common';
import type { CallPage } from '../types';
import { usePaged } from '../use-paged';
import { CallTable, rowOf } from './call-rows';

/** Calls that ended failed with their attempts used up: pick some and run them again, or every one of a function. */
export function DeadLettersPage(): JSX.Element {
  const may = useMay();
  const [funcName, setFuncName] = useState('');
  const list = usePaged<CallPage>('/v1/dead-letters', { funcName });
  // A call run again moves on from here live: its row shows it pending, running and ended again.
  const live = useCallEvents({
    onCall: (c) => list.set((p) => (p && p.calls.some((x) => x.id === c.id) ? { ...p, calls: p.calls.map((x) => (x.id === c.id ? { ...x, ...c } : x)) } : p)),
  });
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [note, setNote] = useState<string | null>(null);
  const toggle = (id: string): void =>
    setChosen((c) => {
      const next = new Set(c);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const retryChosen = async (): Promise<void> => {
    for (const id of chosen) await post(`/v1/calls/${id}/retry`);
    setNote(`${chosen.size} call(s) run again`);
    setChosen(new Set());
    list.reload();
  };
  const retryAll = async (): Promise<void> => {
    const r = await post<{ retried: number }>(`/v1/dead-letters/retry${query({ funcName })}`);
    setNote(`${r.retried} call(s) run again`);
    list.reload();
  };
  return (
    <Section
      title="Dead letters"
      actions={
        <>
          <LiveDot state={live} />
          {may('invoke') ? (
            <>
            <ActionButton label={`Re-run selected (${chosen.size})`} disabled={chosen.size === 0} run={retryChosen} />
            <ActionButton label={funcName ? `Re-run all of ${funcName}` : 'Re-run all'} confirm="Run every dead letter shown by this filter again?" run={retryAll} />
            </>
          ) : null}
        </>
      }
    >
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFuncName(((e.target as HTMLFormElement).elements.namedItem('fn') as HTMLInputElement).value.trim());
        }}
      >
        <input name="fn" placeholder="function" aria-label="function" defaultValue={funcName} />
        <button type="submit">filter</button>
      </form>
      {note ? <p class="ok" role="status">{note}</p> : null}
      <ErrorNote error={list.error} />
      {list.data ? <CallTable rows={list.data.calls.map(rowOf)} {...(may('invoke') ? { select: { chosen, toggle } } : {})} /> : null}
      {list.data ? <Pager cursors={list.cursors} next={list.data.nextCursor} onChange={list.setCursors} /> : null}
    </Section>
  );
}
