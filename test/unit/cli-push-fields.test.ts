import { describe, expect, it } from 'vitest';
import { CliError, Exit } from '../../services/cli/cli-error.js';
import { envFieldsOf, pushFieldsOf, type DeployOptions } from '../../services/cli/push-fields.js';

/** The usage error `o` is refused with. */
function refusal(o: Omit<DeployOptions, 'runtime'>): string {
  try {
    pushFieldsOf({ runtime: 'py', ...o });
  } catch (err) {
    if (err instanceof CliError && err.exitCode === Exit.USAGE) return err.message;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(o)} to be refused`);
}

describe('pushFieldsOf (ferry fn deploy options → push fields)', () => {
  it('sends only the runtime when nothing else is given, leaving every default to the cluster', () => {
    expect(pushFieldsOf({ runtime: 'py' })).toEqual({ runtime: 'py' });
  });

  it('maps every option to its field, durations in ms and --retries n to n + 1 executions', () => {
    expect(
      pushFieldsOf({
        runtime: 'py',
        timeout: '30s',
        memory: '512',
        retries: '3',
        backoff: '500ms',
        backoffFactor: '1.5',
        maxBackoff: '5m',
        stuckAfter: '1h',
      }),
    ).toEqual({
      runtime: 'py',
      timeoutMs: '30000',
      memoryMb: '512',
      retryMaxAttempts: '4',
      retryBackoffMs: '500',
      retryBackoffFactor: '1.5',
      retryMaxBackoffMs: '300000',
      stuckAfterMs: '3600000',
    });
  });

  it('takes plain ms as before, --retries 0 as one execution, and a back-off of 0', () => {
    expect(pushFieldsOf({ runtime: 'py', timeout: '2500', retries: '0', backoff: '0' })).toEqual({
      runtime: 'py',
      timeoutMs: '2500',
      retryMaxAttempts: '1',
      retryBackoffMs: '0',
    });
    expect(pushFieldsOf({ runtime: 'py', stuckAfter: '100ms' })).toEqual({ runtime: 'py', stuckAfterMs: '100' });
  });

  it('refuses values out of the api range before any upload, naming the option', () => {
    expect(refusal({ retries: '-1' })).toBe('--retries must be a whole number from 0 to 99, got "-1"');
    expect(refusal({ retries: '100' })).toBe('--retries must be a whole number from 0 to 99, got "100"');
    expect(refusal({ retries: '2.5' })).toBe('--retries must be a whole number from 0 to 99, got "2.5"');
    expect(refusal({ retries: '2', backoffFactor: '0.5' })).toBe('--backoff-factor must be a number from 1 to 10, got "0.5"');
    expect(refusal({ retries: '2', backoffFactor: 'x' })).toBe('--backoff-factor must be a number from 1 to 10, got "x"');
    expect(refusal({ retries: '2', backoff: '2d' })).toContain('--backoff takes a duration such as 500ms');
    expect(refusal({ retries: '2', backoff: '25h' })).toBe('--backoff must be from 0ms to 24h, got "25h"');
    expect(refusal({ retries: '2', maxBackoff: '169h' })).toBe('--max-backoff must be from 0ms to 168h, got "169h"');
    expect(refusal({ stuckAfter: '50ms' })).toBe('--stuck-after must be from 100ms to 168h, got "50ms"');
    expect(refusal({ timeout: '0' })).toBe('--timeout must be from 1ms to 24h, got "0"');
    expect(refusal({ memory: '8' })).toBe('--memory must be a whole number from 16 to 65536, got "8"');
  });

  it('refuses a back-off option without --retries', () => {
    for (const o of [{ backoff: '1s' }, { backoffFactor: '2' }, { maxBackoff: '1m' }]) {
      expect(refusal(o)).toBe('--backoff, --backoff-factor and --max-backoff need --retries');
    }
  });
});

describe('envFieldsOf (ferry fn deploy --env/--secret → push fields)', () => {
  const refusal = (o: { env?: string[]; secret?: string[] }, shell: NodeJS.ProcessEnv = {}): string => {
    try {
      envFieldsOf(o, shell);
    } catch (err) {
      if (err instanceof CliError && err.exitCode === Exit.USAGE) return err.message;
      throw err;
    }
    throw new Error(`expected ${JSON.stringify(o)} to be refused`);
  };

  it('sends one env or secret field per variable, NAME=VALUE, the value as given', () => {
    expect(envFieldsOf({ env: ['REGION=eu-west', 'EMPTY='], secret: ['TOKEN=a=b c\nd'] }, {})).toEqual([
      ['env', 'REGION=eu-west'],
      ['env', 'EMPTY='],
      ['secret', 'TOKEN=a=b c\nd'],
    ]);
    expect(envFieldsOf({}, {})).toEqual([]);
  });

  it('--keep-env sends keepEnv=true; without it no field, each version having only its own', () => {
    expect(pushFieldsOf({ runtime: 'py', keepEnv: true })).toEqual({ runtime: 'py', keepEnv: 'true' });
    expect(pushFieldsOf({ runtime: 'py', keepEnv: false })).toEqual({ runtime: 'py' });
  });

  it("takes a bare NAME's value from the shell", () => {
    expect(envFieldsOf({ env: ['REGION'], secret: ['TOKEN'] }, { REGION: 'eu', TOKEN: 'hunter2' })).toEqual([
      ['env', 'REGION=eu'],
      ['secret', 'TOKEN=hunter2'],
    ]);
  });

  it('refuses bad entries as the api would, naming a secret by its place, never echoing what may be its value', () => {
    expect(refusal({ secret: ['hunter2'] })).toBe('--secret #1: expected NAME=VALUE, or the NAME of a variable set in this shell');
    expect(refusal({ env: ['A=1', 'MISSING'] })).toBe('--env #2 "MISSING": expected NAME=VALUE, or the NAME of a variable set in this shell');
    expect(refusal({ secret: ['FERRY_X=hunter2'] })).toBe(`bad --secret #1 "FERRY_X": names starting with FERRY_ are Ferry's own`);
    expect(refusal({ env: ['1A=hunter2'] })).toBe('bad --env #1 "1A": a name is letters, digits and "_", not starting with a digit');
    expect(refusal({ env: ['T=1'], secret: ['T=hunter2'] })).toBe('T given both as env and as a secret');
    expect(refusal({ secret: [`T=${'x'.repeat(16 * 1024 + 1)}`] })).toBe('bad --secret #1 "T": the value is longer than 16384 bytes');
  });
});
