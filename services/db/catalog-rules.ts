import { ErrorCode, FerryError } from '../../shared/errors.js';
import type { DbParsedContent } from '../../shared/protocol/db-messages.js';
import type { Runtime } from '../../shared/protocol/domain.js';
import { checkEnvTogether } from '../../shared/protocol/function-env.js';
import { parseFunctionRef } from '../../shared/protocol/function-ref.js';

type Vars = { env: Record<string, string>; secrets: Record<string, string> };

/** A runtime as registered now; `name` defaults to `image`. */
export function newRuntime(spec: DbParsedContent['registerRuntime']): Runtime {
  return {
    name: spec.name ?? spec.image,
    image: spec.image,
    path: spec.path,
    dependencies: spec.dependencies,
    run: spec.run,
    protocol: spec.protocol,
    createdAt: Date.now(),
  };
}

/**
 * A new version's env and sealed secrets: `kept` (the version before it, with keepEnv) with the
 * names `given` sets replaced, either kind by either kind.
 * @throws BAD_REQUEST when the merged env and secrets share a name or pass the name limit
 */
export function mergedEnv(kept: Vars, given: Vars): Vars {
  const names = new Set([...Object.keys(given.env), ...Object.keys(given.secrets)]);
  const env = { ...withoutNames(kept.env, names), ...given.env };
  const secrets = { ...withoutNames(kept.secrets, names), ...given.secrets };
  checkEnvTogether(env, secrets);
  return { env, secrets };
}

function withoutNames(map: Record<string, string>, names: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).filter(([name]) => !names.has(name)));
}

/** `ref` may be written `name@version`; a version given both ways must agree. */
export function splitRef(ref: string, version: number | undefined): { name: string; version: number | undefined } {
  const parsed = parseFunctionRef(ref);
  if (parsed.version === undefined) return { name: parsed.name, version };
  if (version !== undefined && version !== parsed.version) {
    throw new FerryError(ErrorCode.BAD_REQUEST, `function reference "${ref}" disagrees with version ${version}`);
  }
  return { name: parsed.name, version: parsed.version };
}
