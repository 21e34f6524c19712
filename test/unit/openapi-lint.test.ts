import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FerryClient } from '../../packages/client/src/index.js';
import { openapi } from '../../services/api/http/openapi.js';
import { repoDir } from '../helpers/fixtures.js';
import { makeTempDir } from '../helpers/temp.js';

const run = promisify(execFile);
const redocly = path.join(repoDir, 'node_modules', '.bin', 'redocly');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location?: { pointer?: string }[] }[];
}

/** Every operation of the document: its method, path and operationId. */
const operations = (): { route: string; id: unknown }[] =>
  Object.entries(openapi.paths).flatMap(([p, ops]) => Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${p}`, id: (op as { operationId?: unknown }).operationId })));

describe('the OpenAPI document (/v1/openapi.json)', () => {
  it('passes `redocly lint` with its recommended rules (redocly.yaml): no error, no warning', async () => {
    const { dir, cleanup } = await makeTempDir('ferry-openapi-');
    onTestFinished(cleanup);
    const doc = path.join(dir, 'openapi.json');
    await writeFile(doc, JSON.stringify(openapi));
    // The linter exits 1 when it finds an error: the report on stdout says what either way.
    const out = await run(redocly, ['lint', doc, '--config', path.join(repoDir, 'redocly.yaml'), '--format', 'json'], {
      cwd: dir,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).catch((err: { stdout: string }) => err);
    const report = JSON.parse(out.stdout) as LintReport;
    expect(report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location?.[0]?.pointer ?? '?'}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('names every operation with an operationId that FerryClient has a method of', () => {
    const missing = operations().filter(({ id }) => typeof id !== 'string' || typeof (FerryClient.prototype as unknown as Record<string, unknown>)[id] !== 'function');
    expect(missing.map((o) => `${o.route} (${String(o.id)})`)).toEqual([]);
  });
});
