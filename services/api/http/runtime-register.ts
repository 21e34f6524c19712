import { BadRequestError } from '../../../shared/errors.js';
import { runtimeSpecSchema, type Runtime } from '../../../shared/protocol/domain.js';
import { issuesText } from '../../../shared/protocol/issues-text.js';
import type { ApiDeps } from './deps.js';

/** Validates and registers (or replaces) a runtime; `name` defaults to `image`. */
export async function registerRuntime(deps: ApiDeps, body: unknown): Promise<Runtime> {
  const parsed = runtimeSpecSchema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new BadRequestError(`bad runtime: ${issuesText(parsed.error, 'body')}`);
  }
  const runtime = await deps.db.call('registerRuntime', parsed.data);
  deps.catalog.forgetRuntime(runtime.name);
  return runtime;
}
