import { describe, expect, it } from 'vitest';
import { addHistogram, durationBucket, percentileMs, type DurationHistogram } from '../../shared/protocol/call-stats.js';

const histogramOf = (durations: number[]): DurationHistogram => {
  const h: DurationHistogram = {};
  for (const ms of durations) h[durationBucket(ms)] = (h[durationBucket(ms)] ?? 0) + 1;
  return h;
};

describe('call duration histograms', () => {
  it('answers each percentile at most 5 % above the true one, never below it', () => {
    const durations = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 60_000));
    const sorted = [...durations].sort((a, b) => a - b);
    const h = histogramOf(durations);
    for (const p of [0.01, 0.5, 0.9, 0.99, 1]) {
      const truth = sorted[Math.ceil(p * sorted.length) - 1]!;
      const read = percentileMs(h, p)!;
      expect({ p, ok: read >= truth && read <= Math.ceil(truth * 1.05) }).toEqual({ p, ok: true });
    }
  });

  it('merges slices by adding them, as one histogram of every duration would', () => {
    const a = [3, 40, 41, 900];
    const b = [0, 1, 2, 40, 12_345];
    const merged = histogramOf(a);
    addHistogram(merged, histogramOf(b));
    expect(merged).toEqual(histogramOf([...a, ...b]));
    expect(percentileMs(merged, 0.5)).toBe(percentileMs(histogramOf([...a, ...b]), 0.5));
  });

  it('answers null for no durations', () => {
    expect(percentileMs({}, 0.5)).toBeNull();
  });
});
