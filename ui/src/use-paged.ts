import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from './api';
import { useApi, type Loaded } from './use-api';

/** A cursor-paged list at `path` (`{ [field]: T[], nextCursor }`): the page shown and the cursors walked to it. */
export function usePaged<P>(path: string, filters: Record<string, string | number | undefined> = {}): Loaded<P> & { cursors: string[]; setCursors: (c: string[]) => void } {
  const [cursors, setCursors] = useState<string[]>([]);
  const loaded = useApi<P>(`${path}${query({ ...filters, cursor: cursors.at(-1) })}`);
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
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  };
}
