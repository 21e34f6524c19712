import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError, httpStatusByCode } from '../../shared/errors.js';

const doc = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/error-codes.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
  retryable: m[3] === 'yes',
}));

describe('docs/error-codes.md', () => {
  it('lists exactly the codes Ferry has', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('gives each code the HTTP status and retryability the code uses', () => {
    for (const row of rows) {
      const code = row.code as ErrorCode;
      expect({ code, status: httpStatusByCode[code] }).toEqual({ code, status: row.status });
      expect({ code, retryable: new FerryError(code, 'x').retryable }).toEqual({ code, retryable: row.retryable });
    }
  });
});
