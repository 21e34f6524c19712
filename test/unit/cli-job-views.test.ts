import { describe, expect, it } from 'vitest';
import type { Call, RetryPolicy } from '../../shared/protocol/domain.js';
import { callLines, statusCell } from '../../services/cli/call-view.js';
import { policySuffix, retryText, stuckText } from '../../services/cli/function-view.js';
import { callRecord } from '../helpers/call-record.js';

const now = 1_700_000_000_000;

const call = (extra: Partial<Call> = {}): Call => callRecord({ createdAt: now - 60_000, ...extra });

const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ maxAttempts: 4, backoffMs: 1000, backoffFactor: 2, maxBackoffMs: 3_600_000, ...p });

describe('retry policy and stuckAfterMs as ferry fn shows them', () => {
  it('says the policy in the terms ferry fn deploy takes it', () => {
    expect(retryText(policy({}))).toBe('3 retries, back-off 1s ×2 up to 1h');
    expect(retryText(policy({ maxAttempts: 2, backoffMs: 500, backoffFactor: 1 }))).toBe('1 retry, back-off 500ms');
    expect(retryText(policy({ backoffMs: 0 }))).toBe('3 retries, no back-off');
    expect(retryText(policy({ maxAttempts: 1 }))).toBe('no retries');
    expect(retryText(policy({ backoffFactor: 1.5, maxBackoffMs: 300_000 }))).toBe('3 retries, back-off 1s ×1.5 up to 5m');
    expect(retryText(null)).toBe('-');
    expect(retryText(undefined)).toBe('-');
  });

  it('shows stuckAfterMs, and - for never', () => {
    expect(stuckText({ stuckAfterMs: 30_000 })).toBe('30s');
    expect(stuckText({ stuckAfterMs: null })).toBe('-');
    expect(stuckText({})).toBe('-');
  });

  it("adds the policy to ferry fn deploy's line only when the version has one", () => {
    const v = { name: 'etl', runtime: 'py', version: 2, sha256: 'a'.repeat(64), size: 10, timeoutMs: 1000, memoryMb: 256, createdAt: now };
    expect(policySuffix({ ...v, retry: policy({}), stuckAfterMs: 300_000 })).toBe('; 3 retries, back-off 1s ×2 up to 1h; stuck after 5m');
    expect(policySuffix({ ...v, retry: null, stuckAfterMs: null })).toBe('');
  });
});

describe('calls as ferry calls and ferry call show them', () => {
  it('marks a retry waiting out its back-off and a dead letter in the status column', () => {
    expect(statusCell(call({ nextAttemptAt: now + 12_000 }), true, now)).toBe('PENDING, next attempt in 12s');
    expect(statusCell(call({ status: 'ERROR', deadLetter: true }), true, now)).toBe('ERROR, dead letter');
    expect(statusCell(call({ status: 'ERROR', deadLetter: true }), false, now)).toBe('ERROR');
    expect(statusCell(call({ status: 'HELD' }), true, now)).toBe('HELD');
  });

  it('adds retry, failures and dead-letter lines to ferry call only where they say something', () => {
    const keys = (c: Call): string[] => callLines(c, now).map(([k]) => k);
    expect(keys(call())).toEqual(['call', 'function', 'status', 'attempt', 'node', 'params', 'result', 'created', 'took']);

    const waiting = new Map(callLines(call({ attempt: 2, failures: 1, nextAttemptAt: now + 12_000 }), now));
    expect(waiting.get('retry')).toBe('next attempt in 12s');
    expect(waiting.get('failures')).toBe('1');

    const dead = new Map(
      callLines(call({ status: 'ERROR', error: { code: 'FUNCTION_ERROR', message: 'boom' }, failures: 3, deadLetter: true, idempotencyKey: 'order-42' }), now),
    );
    expect(dead.get('status')).toBe('ERROR — FUNCTION_ERROR: boom');
    expect(dead.get('dead letter')).toBe('yes, its attempts are used up: `ferry retry 7` runs it again');
    expect(dead.get('idempotency')).toBe('order-42');
    expect(new Map(callLines(call({ requestId: 'trace-4711' }), now)).get('request')).toBe('trace-4711');
    expect(dead.has('retry')).toBe(false);

    expect(new Map(callLines(call({ status: 'HELD' }), now)).get('status')).toBe('HELD — not run until `ferry dispatch 7`');
  });
});
