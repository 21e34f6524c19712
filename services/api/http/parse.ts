import type { z } from 'zod';
import { BadRequestError } from '../../../shared/errors.js';
import { issuesText } from '../../../shared/protocol/issues-text.js';

/** `value` checked against `schema`; throws BAD_REQUEST naming what was wrong in `what`. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new BadRequestError(`bad ${what}: ${issuesText(r.error, what)}`);
  return r.data;
}
