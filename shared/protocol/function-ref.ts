import { BadRequestError } from '../errors.js';
import { nameSchema } from './domain.js';

/** Why `name` is no function name (400), or null when it is one. */
export function badFunctionName(name: string): BadRequestError | null {
  if (nameSchema.safeParse(name).success) return null;
  return new BadRequestError(`bad function name "${name.slice(0, 140)}": letters, digits, ".", "_" and "-", starting with a letter or digit`);
}

/**
 * `dice` or `dice@3`: a function name, and the version when one is pinned. Throws BAD_REQUEST for
 * a bad name, or a version that is not a whole number from 1 that a number holds exactly (at most
 * 15 digits: a larger one would be rounded into another version).
 */
export function parseFunctionRef(ref: string): { name: string; version?: number } {
  const at = ref.lastIndexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const bad = badFunctionName(name);
  if (bad) throw bad;
  if (at < 0) return { name };
  const digits = ref.slice(at + 1);
  const version = Number(digits);
  if (!/^\d{1,15}$/.test(digits) || version < 1) {
    throw new BadRequestError(`bad function reference "${ref.slice(0, 160)}": the version after @ must be a whole number from 1`);
  }
  return { name, version };
}
