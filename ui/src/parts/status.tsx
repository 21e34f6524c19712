import type { JSX } from 'preact';
import { CALL_STATUSES, ENDED, type CallStatus, type Counts, type Progress } from '../types';

export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`badge s-${status.toLowerCase()}`}>{status}</span>;
}

/** A progress report as a fraction 0..1: a number as it is, `{current, total}` divided; null when it says neither. */
export function fractionOf(progress: Progress | null | undefined): number | null {
  if (progress === null || progress === undefined) return null;
  if (typeof progress === 'number') return progress;
  const current = Number(progress['current']);
  const total = Number(progress['total']);
  return Number.isFinite(current) && Number.isFinite(total) && total > 0 ? Math.min(1, current / total) : null;
}

export function ProgressBar({ fraction, label }: { fraction: number; label?: string }): JSX.Element {
  const pct = Math.round(fraction * 100);
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={label ?? 'progress'}>
      <div class="progress-fill" style={{ width: `${pct}%` }} />
      <span class="progress-text">{label ? `${label} · ` : ''}{pct}%</span>
    </div>
  );
}

/** A group's calls per status: one bar split by status, and the numbers beside it. */
export function CountsBar({ counts, total }: { counts: Counts; total?: number }): JSX.Element {
  const sum = total ?? CALL_STATUSES.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const shown = CALL_STATUSES.filter((s) => (counts[s] ?? 0) > 0);
  return (
    <div class="counts">
      <div class="counts-bar" aria-hidden="true">
        {shown.map((s) => (
          <div class={`seg s-${s.toLowerCase()}`} style={{ width: `${(100 * (counts[s] ?? 0)) / Math.max(1, sum)}%` }} title={`${s}: ${counts[s]}`} />
        ))}
      </div>
      <div class="counts-text">
        {shown.length === 0 ? 'no calls' : shown.map((s: CallStatus) => <span class={`count s-${s.toLowerCase()}`}>{`${s} ${counts[s]}`}</span>)}
      </div>
    </div>
  );
}

/** How many of a group's calls have ended. */
export const endedOf = (counts: Counts): number => ENDED.reduce((n, s) => n + (counts[s] ?? 0), 0);
