import type { Request } from 'express';
import multer from 'multer';
import { BadRequestError } from '../../../shared/errors.js';
import type { FunctionView, RetryPolicy } from '../../../shared/protocol/domain.js';
import { EnvLimits, type EnvMap } from '../../../shared/protocol/function-env.js';
import { BundleStorage, stagedBundleOf } from './bundle-storage.js';
import type { ApiDeps } from './deps.js';
import { answerNow } from './early-answer.js';
import { functionView } from './function-view.js';
import { badFunctionName } from '../../../shared/protocol/function-ref.js';
import { checkPushTarget } from './push-target.js';

/**
 * multer for one tar.gz in field `module`, capped at the upload limit, streamed to the registry
 * and checked as it arrives (see {@link BundleStorage}) rather than spooled to disk first.
 * `runtimeBeforeFile`, when given, names the runtime from the fields that came before the file
 * part; it is looked up before any byte of the file is read, and an unknown one answered 404 then.
 */
export function bundleUpload(deps: ApiDeps, runtimeBeforeFile?: (req: Request) => string | undefined): ReturnType<multer.Multer['single']> {
  const storage = new BundleStorage(deps.registry, deps.checks, {
    maxEntries: deps.config.maxBundleEntries,
    maxUnpackedBytes: deps.config.maxUnpackedBytes,
  });
  const fileFilter: multer.Options['fileFilter'] = (req, _file, accept) => {
    if (!runtimeBeforeFile) return accept(null, true);
    (async () => checkPushTarget(deps, String(req.params['name']), runtimeBeforeFile(req)))().then(
      () => accept(null, true),
      (err: unknown) => {
        answerNow(req.res, err);
        accept(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
  // Room for a variable per field up to the env limit, each at most a name, "=" and a value long.
  const limits = {
    fileSize: deps.config.maxUploadBytes,
    files: 1,
    fields: 20 + EnvLimits.maxNames,
    fieldSize: EnvLimits.maxNameLength + 1 + EnvLimits.maxValueBytes,
  };
  return multer({ storage, fileFilter, limits }).single('module');
}

export interface PushRequest {
  name: string;
  runtime: string;
  file: Express.Multer.File | undefined;
  timeoutMs?: number;
  memoryMb?: number;
  retry?: RetryPolicy | null;
  stuckAfterMs?: number;
  env?: EnvMap;
  /** In the clear: sealed here before anything is stored. */
  secrets?: EnvMap;
  keepEnv?: boolean;
}

/**
 * A new version of a function: the runtime must exist, the tarball must have passed its check,
 * the registry must have verified its hash and stored it, and only then is it recorded. An
 * upload that is not stored is always dropped. Its secrets are sealed before they leave the api.
 */
export async function pushFunction(deps: ApiDeps, req: PushRequest): Promise<FunctionView> {
  const staged = stagedBundleOf(req.file);
  try {
    const badName = badFunctionName(req.name);
    if (badName) throw badName;
    if (!staged) throw new BadRequestError('no bundle: send the tar.gz as multipart field "module"');
    await deps.catalog.runtime(req.runtime);
    const secrets = await deps.secrets.seal(req.name, req.secrets ?? {});
    const { sha256, size } = await staged.commit();
    deps.metrics.bundlePushed(size);
    const fn = await deps.db.call('putFunction', {
      name: req.name,
      runtime: req.runtime,
      sha256,
      size,
      timeoutMs: req.timeoutMs ?? deps.config.defaultTimeoutMs,
      memoryMb: req.memoryMb ?? deps.config.defaultMemoryMb,
      retry: req.retry ?? null,
      stuckAfterMs: req.stuckAfterMs ?? null,
      env: req.env ?? {},
      secrets,
      keepEnv: req.keepEnv ?? false,
    });
    deps.catalog.forgetFunction(req.name);
    const view = functionView(fn);
    deps.log.info({ fn: `${fn.name}@${fn.version}`, sha256, size, envNames: Object.keys(view.env), secretNames: view.secrets }, 'function pushed');
    return view;
  } finally {
    await staged?.abort(); // a no-op once committed
  }
}
