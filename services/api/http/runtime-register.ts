import { BadRequestError } from '../../../shared/errors.js';
import { runtimeSpecSchema, type Runtime } from '../../../shared/protocol/domain.js';
import type { ApiDeps } from './deps.js';

/** Validates and registers (or replaces) a runtime; `name` defaults to `image`. */
export async function registerRuntime(deps: ApiDeps, body: unknown): Promise<Runtime> {
  const parsed = runtimeSpecSchema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new BadRequestError(`bad runtime: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  }
  const runtime = await deps.db.call('registerRuntime', parsed.data);
  deps.catalog.forgetRuntime(runtime.name);
  return runtime;
}
