import { usage } from './cli-error.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/**
 * A duration option in ms: `500ms`, `30s`, `5m`, `1h`, `1.5s`, or plain ms (`1500`).
 * @param flag the option's name, for the message (`--backoff`)
 * @throws CliError (usage, exit 2) for anything else, and for a value that is no whole number of
 *   ms (`0.5ms`) or too large to be exact
 */
export function parseDuration(flag: string, text: string): number {
  const m = DURATION.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as Unit] : NaN;
  // `1.1s` is 1100.0000000000002 in floating point: round what is a whole ms up to float error.
  const whole = Math.round(ms);
  if (!Number.isSafeInteger(whole) || Math.abs(ms - whole) > 1e-6) {
    throw usage(`${flag} takes a duration such as 500ms, 30s, 5m, 1h or plain ms, got "${text}"`);
  }
  return whole;
}

/**
 * A duration for people, in the largest unit that shows it exactly: `500ms`, `30s`, `5m`, `1h`,
 * `90s`, `1500ms`. {@link parseDuration} reads every one back to the same ms.
 */
export function formatMs(ms: number): string {
  if (ms !== 0 && ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h}h`;
  if (ms !== 0 && ms % UNIT_MS.m === 0) return `${ms / UNIT_MS.m}m`;
  if (ms !== 0 && ms % UNIT_MS.s === 0) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}

/** How long until `at` (epoch ms), for a line such as `next attempt in 12s`: `in 12s`, `in 5m`, `in 2h`; `now` once it is due. */
export function untilText(at: number, now: number = Date.now()): string {
  const s = Math.ceil((at - now) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s}s`;
  if (s < 3600) return `in ${Math.floor(s / 60)}m`;
  return `in ${Math.floor(s / 3600)}h`;
}
