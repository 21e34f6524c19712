import { describe, expect, it } from 'vitest';
import { newCallId } from '../../shared/protocol/call-id.js';

describe('call ids', () => {
  it('are 21 letters and digits, so none reads as a command-line option', () => {
    const ids = Array.from({ length: 10_000 }, newCallId);
    expect(ids.every((id) => /^[A-Za-z0-9]{21}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
