import type { FunctionVersion, FunctionView } from '../../../shared/protocol/domain.js';

/**
 * A function version as every route shows it: its env, and its secrets by name only. The sealed
 * values stay between the api and the db.
 */
export function functionView({ secrets, env, ...fn }: FunctionVersion): FunctionView {
  return { ...fn, env: env ?? {}, secrets: Object.keys(secrets ?? {}).sort() };
}
