import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from './api';
import { streamEvents } from './sse';
import type { CallSummary, Progress } from './types';

/** How long to wait before opening the events stream again after it broke. */
const RECONNECT_MS = 3_000;

export type LiveState = 'connecting' | 'live' | 'down';

/**
 * Follows `GET /v1/events` (every call's creation and change of status, and progress) while the
 * page is open (again when `funcName` changes), and opens it again when it breaks. `onOpen` runs each time the stream opens (the
 * page reads its list then, so nothing falls between the read and the stream) or fails to.
 */
export function useCallEvents(
  handlers: {
    onCall: (call: CallSummary) => void;
    onProgress?: (id: string, progress: Progress) => void;
    onOpen?: () => void;
  },
  /** Only this function's calls (the api leaves the others out of the stream). */
  funcName?: string,
): LiveState {
  const path = `/v1/events${query({ funcName })}`;
  const [state, setState] = useState<LiveState>('connecting');
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    let stop = (): void => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    let opened = false;
    const open = (): void => {
      setState('connecting');
      stop = streamEvents(path, {
        onOpen: () => {
          opened = true;
          setState('live');
          latest.current.onOpen?.();
        },
        onMessage: (m) => {
          if (m.event === 'call') latest.current.onCall(m.data as CallSummary);
          else if (m.event === 'progress') {
            const p = m.data as { id: string; progress: Progress };
            latest.current.onProgress?.(p.id, p.progress);
          }
        },
        onEnd: () => {
          setState('down');
          // A page whose stream never opened still shows its list, only not live.
          if (!opened) {
            opened = true;
            latest.current.onOpen?.();
          }
          timer = setTimeout(open, RECONNECT_MS);
        },
      });
    };
    open();
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, [path]);
  return state;
}

export function LiveDot({ state }: { state: LiveState }): JSX.Element {
  const text = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'live updates lost, reconnecting';
  return (
    <span class={`live live-${state}`} data-testid="live" data-state={state}>
      {text}
    </span>
  );
}
