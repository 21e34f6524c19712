import { rm } from 'node:fs/promises';
import multer from 'multer';
import { BadRequestError } from '../../../shared/errors.js';
import { nameSchema, type FunctionVersion } from '../../../shared/protocol/domain.js';
import { checkBundle } from './bundle-check.js';
import type { ApiDeps } from './deps.js';

/** multer for one tar.gz in field `module`, spooled to disk, capped at the upload limit. */
export function bundleUpload(deps: ApiDeps): ReturnType<multer.Multer['single']> {
  return multer({ dest: deps.uploadDir, limits: { fileSize: deps.config.maxUploadBytes, files: 1, fields: 20 } }).single('module');
}

export interface PushRequest {
  name: string;
  runtime: string;
  file: Express.Multer.File | undefined;
  timeoutMs?: number;
  memoryMb?: number;
}

/**
 * A new version of a function: the runtime must exist, the tarball is checked, streamed to the
 * registry (which verifies its hash), and only then recorded. The spooled upload is always removed.
 */
export async function pushFunction(deps: ApiDeps, req: PushRequest): Promise<FunctionVersion> {
  try {
    if (!nameSchema.safeParse(req.name).success) {
      throw new BadRequestError(`bad function name "${req.name.slice(0, 140)}": letters, digits, ".", "_" and "-", starting with a letter or digit`);
    }
    if (!req.file) throw new BadRequestError('no bundle: send the tar.gz as multipart field "module"');
    await deps.catalog.runtime(req.runtime);
    await checkBundle(req.file.path, { maxEntries: deps.config.maxBundleEntries, maxUnpackedBytes: deps.config.maxUnpackedBytes });
    const { sha256, size } = await deps.registry.putFile(req.file.path);
    const fn = await deps.db.call('putFunction', {
      name: req.name,
      runtime: req.runtime,
      sha256,
      size,
      timeoutMs: req.timeoutMs ?? deps.config.defaultTimeoutMs,
      memoryMb: req.memoryMb ?? deps.config.defaultMemoryMb,
    });
    deps.catalog.forgetFunction(req.name);
    deps.log.info({ fn: `${fn.name}@${fn.version}`, sha256, size }, 'function pushed');
    return fn;
  } finally {
    if (req.file) await rm(req.file.path, { force: true });
  }
}
