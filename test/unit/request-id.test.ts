import { describe, expect, it } from 'vitest';
import { isRequestId, newRequestId, requestIdSchema } from '../../shared/protocol/request-id.js';

describe('request ids', () => {
  it("take a caller's UUID, W3C trace id, base64 or plain name as it is", () => {
    for (const id of ['req-42', '3f2b8c4e-1d2a-4c55-9a0e-7d1b2c3d4e5f', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'b64/Ab+c=', 'svc.orders:4711@eu', 'x'.repeat(128)]) {
      expect(isRequestId(id), id).toBe(true);
      expect(requestIdSchema.safeParse(id).success, id).toBe(true);
    }
  });

  it('refuse empty, over-long, spaced or control-character ids, which could forge or break a log line', () => {
    for (const id of ['', 'x'.repeat(129), 'two words', 'a\nb', '{"json":1}', 'quote"d', 'ünï']) {
      expect(isRequestId(id), id).toBe(false);
      expect(requestIdSchema.safeParse(id).success, id).toBe(false);
    }
  });

  it('are made as 16 letters and digits, each its own', () => {
    const ids = Array.from({ length: 10_000 }, newRequestId);
    expect(ids.every((id) => /^[A-Za-z0-9]{16}$/.test(id) && isRequestId(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
