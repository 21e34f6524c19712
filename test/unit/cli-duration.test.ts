import { describe, expect, it } from 'vitest';
import { CliError, Exit } from '../../services/cli/cli-error.js';
import { formatMs, parseDuration, untilText } from '../../services/cli/duration.js';

function usageError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a usage error');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1500', 1500],
    ['0', 0],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0.25h', 900_000],
    [' 2s ', 2000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration('--backoff', text)).toBe(ms);
  });

  it.each(['', 'abc', '5x', '-1s', '1 s', '1e3', '1.5', '0.5ms', 's', '30S', '9999999999999999h'])('refuses %j as a usage error naming the option', (text) => {
    const err = usageError(() => parseDuration('--stuck-after', text));
    expect(err.exitCode).toBe(Exit.USAGE);
    expect(err.message).toBe(`--stuck-after takes a duration such as 500ms, 30s, 5m, 1h or plain ms, got "${text}"`);
  });
});

describe('formatMs', () => {
  it.each([
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1500ms'],
    [30_000, '30s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [5_400_000, '90m'],
    [604_800_000, '168h'],
    [0, '0ms'],
  ])('shows %d ms as %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it('is read back to the same ms by parseDuration', () => {
    for (const ms of [0, 1, 999, 1000, 1001, 59_000, 60_000, 61_000, 3_599_000, 3_600_000, 86_400_000]) {
      expect(parseDuration('--backoff', formatMs(ms))).toBe(ms);
    }
  });
});

describe('untilText', () => {
  const now = 1_700_000_000_000;
  it.each([
    [12_000, 'in 12s'],
    [11_001, 'in 12s'],
    [59_000, 'in 59s'],
    [60_000, 'in 1m'],
    [3_599_000, 'in 59m'],
    [3_600_000, 'in 1h'],
    [7_300_000, 'in 2h'],
    [0, 'now'],
    [-5_000, 'now'],
  ])('says %d ms ahead as %s', (ahead, text) => {
    expect(untilText(now + ahead, now)).toBe(text);
  });
});
