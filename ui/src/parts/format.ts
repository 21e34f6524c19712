/** Times as people read them: local clock times, ages and durations. */

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  // The browser's clock and the cluster's differ a little: a time just begun is none, not negative.
  ms = Math.max(0, ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return Math.round(s % 60) === 0 ? `${m} min` : `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const ago = (ms: number | null | undefined, now = Date.now()): string => (ms === null || ms === undefined ? '–' : `${duration(Math.max(0, now - ms))} ago`);

/** A value as JSON text; a string that holds JSON shown as that JSON. */
export function pretty(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? String(value);
}

/** A `<input type="datetime-local">` value as epoch ms; undefined when empty. */
export function fromLocalInput(value: string): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epoch ms as a `<input type="datetime-local">` value. */
export function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** A metric as people read it: six significant digits at most. */
export const metric = (v: number): string => String(Number(v.toPrecision(6)));
