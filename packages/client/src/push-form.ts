import type { PushFields } from './types.js';
import type { FormField } from './upload.js';

const NUMBER_FIELDS = ['timeoutMs', 'memoryMb', 'retryMaxAttempts', 'retryBackoffMs', 'retryBackoffFactor', 'retryMaxBackoffMs', 'stuckAfterMs'] as const;

/**
 * A push's fields as the form sends them: `runtime` first (the api checks it before reading the
 * bundle), numbers as text, `env` and `secret` once per variable as `NAME=VALUE`.
 */
export function formOf(f: PushFields): FormField[] {
  const form: FormField[] = [['runtime', f.runtime]];
  for (const name of NUMBER_FIELDS) {
    const value = f[name];
    if (value !== undefined) form.push([name, String(value)]);
  }
  if (f.keepEnv) form.push(['keepEnv', 'true']);
  for (const [k, v] of Object.entries(f.env ?? {})) form.push(['env', `${k}=${v}`]);
  for (const [k, v] of Object.entries(f.secrets ?? {})) form.push(['secret', `${k}=${v}`]);
  return form;
}
