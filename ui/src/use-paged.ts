import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from './api';
import { useCallEvents, type LiveState } from './live';
import type { CallSummary } from './types';
import { useApi, type Loaded } from './use-api';

export type Paged<P> = Loaded<P> & { cursors: string[]; setCursors: (c: string[]) => void };

/** A cursor-paged list at `path` (`{ …, nextCursor }`): the page shown and the cursors walked to it. */
export function usePaged<P>(path: string, filters: Record<string, string | number | undefined> = {}): Paged<P> {
  const [cursors, setCursors] = useState<string[]>([]);
  const loaded = useApi<P>(`${path}${query({ limit: 50, ...filters, cursor: cursors.at(-1) })}`);
  return { ...loaded, cursors, setCursors };
}

/**
 * `fn` at most once per `ms` however often it is asked for: a group page reads its counts again
 * on its calls' events, which may come by the hundred.
 */
export function useThrottled(fn: () => void, ms = 1000): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  };
}

/**
 * A group's page (a session, run or batch job): its view and a paged list of its calls, both read
 * again as calls that `belongs` says are its own (given the view as last read) change status.
 */
export function useGroup<V, P>(viewPath: string, list: [string, Record<string, string>?], belongs: (c: CallSummary, view: V | null) => boolean): { view: Loaded<V>; list: Paged<P>; live: LiveState } {
  const view = useApi<V>(viewPath);
  const paged = usePaged<P>(list[0], list[1]);
  const refresh = useThrottled(() => {
    view.reload();
    paged.reload();
  });
  const live = useCallEvents({ onCall: (c) => belongs(c, view.data) && refresh() });
  return { view, list: paged, live };
}
