import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  reload: () => void;
  /** Replaces the data shown (an update from a live stream, an action's reply). */
  set: (update: (old: T | null) => T | null) => void;
}

/** GETs `path` (null: nothing yet), again whenever it changes or `reload()` is called. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    get<T>(path).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
      },
      (err: ApiError) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload, set: setData };
}
