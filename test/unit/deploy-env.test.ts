import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { repoDir } from '../helpers/fixtures.js';

const ROLES = ['api', 'registry', 'worker'] as const;

/** The variables an env file sets (`NAME=value`, a value in single quotes taken as it is) and those it shows commented out. */
function envFile(role: string): { set: Record<string, string>; commented: string[] } {
  const set: Record<string, string> = {};
  const commented: string[] = [];
  for (const line of readFileSync(path.join(repoDir, 'deploy', 'env', `${role}.env`), 'utf8').split('\n')) {
    const m = /^(#?)(FERRY_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    if (m[1]) commented.push(m[2]!);
    else set[m[2]!] = m[3]!.replace(/^'(.*)'$/, '$1');
  }
  return { set, commented };
}

/** Every variable of the README's Configuration table. */
const documented = new Set(
  [...readFileSync(path.join(repoDir, 'README.md'), 'utf8').matchAll(/^\| (`FERRY_[A-Z0-9_]+`(?: \/ `FERRY_[A-Z0-9_]+`)*) \|/gm)].flatMap((m) =>
    [...m[1]!.matchAll(/FERRY_[A-Z0-9_]+/g)].map((n) => n[0]),
  ),
);

describe('deploy/env: the example env file of each host role', () => {
  it.each(ROLES)('%s.env reads as a valid configuration', (role) => {
    expect(() => loadConfig(envFile(role).set)).not.toThrow();
  });

  it.each(ROLES)('%s.env names only variables the README documents', (role) => {
    const { set, commented } = envFile(role);
    expect([...Object.keys(set), ...commented].filter((name) => !documented.has(name))).toEqual([]);
  });

  it('together they show every documented variable', () => {
    const shown = new Set(ROLES.flatMap((role) => [...Object.keys(envFile(role).set), ...envFile(role).commented]));
    expect([...documented].filter((name) => !shown.has(name))).toEqual([]);
  });
});
