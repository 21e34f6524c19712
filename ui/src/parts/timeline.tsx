import type { JSX } from 'preact';
import type { Execution } from '../types';
import { duration, time } from './format';

/** A call's attempts as bars on one time axis, oldest first; a running one reaches to `now`. */
export function Timeline({ executions, createdAt, now }: { executions: Execution[]; createdAt: number; now: number }): JSX.Element {
  if (executions.length === 0) return <p class="empty">Not started yet.</p>;
  const start = createdAt;
  const end = Math.max(start + 1, ...executions.map((e) => e.finishedAt ?? now));
  // Clamped: the node's clock, which stamps the times, may run a little ahead of this one.
  const pct = (t: number): number => Math.min(100, Math.max(0, (100 * (t - start)) / (end - start)));
  return (
    <div class="timeline" data-testid="timeline">
      {executions.map((e) => {
        const from = e.startedAt ?? start;
        const to = Math.max(from, e.finishedAt ?? now);
        return (
          <div class="tl-row" key={e.executionId}>
            <div class="tl-label">{`#${e.attempt} on ${e.nodeId ?? '–'}`}</div>
            <div class="tl-track">
              <div
                class={`tl-bar s-${e.state.toLowerCase()}`}
                style={{ left: `${pct(from)}%`, width: `${Math.max(0.5, pct(to) - pct(from))}%` }}
                title={`${time(e.startedAt)} → ${time(e.finishedAt)}`}
              />
            </div>
            <div class="tl-info">
              <span class={`badge s-${e.state.toLowerCase()}`}>{e.state}</span> {duration(to - from)}
              {e.failureReason ? <span class="reason">{` · ${e.failureReason.code}: ${e.failureReason.message}`}</span> : null}
            </div>
          </div>
        );
      })}
    </div>
  );
}
