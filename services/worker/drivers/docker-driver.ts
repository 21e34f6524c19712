import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import * as tar from 'tar';
import { FerryError, ErrorCode } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { CallTask } from '../call-task.js';
import { DockerSandbox } from './docker-sandbox.js';
import type { Driver, PreparedFunction, RuntimeSpec, Sandbox, SandboxOptions } from './driver.js';

export const Label = {
  node: 'ferry.node',
  fn: 'ferry.fn',
  call: 'ferry.call',
  owner: 'ferry.owner',
  inputs: 'ferry.inputs',
} as const;

const FN_REPO = 'ferry-fn';
/** How long a runtime image seen on the engine is trusted to still be there without asking again. */
const RUNTIME_IMAGE_SEEN_MS = 60_000;

/** The image a function version is baked into: named by everything that goes into it. */
export function functionImage(rt: Pick<RuntimeSpec, 'image' | 'path' | 'dependencies'>, sha256: string): string {
  const key = createHash('sha256').update(JSON.stringify([rt.image, rt.path, rt.dependencies, sha256])).digest('hex').slice(0, 24);
  return `${FN_REPO}:${key}`;
}

/**
 * Runs functions in Docker containers. `prepare` bakes a function version's code and the result
 * of its `dependencies` command into an image `ferry-fn:<key>` once per node, where the key hashes
 * everything the image depends on; calls then start from that image and never reinstall.
 */
export class DockerDriver implements Driver {
  readonly kind = 'docker' as const;
  readonly isolation = 'Docker containers';
  readonly notEnforced: string[] = [];
  /** Runtime images found on the engine, and when: a quick prepare need not ask each time. */
  private readonly runtimeImagesSeen = new Map<string, number>();

  constructor(
    readonly docker: Docker,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  /** A driver when a Docker engine answers, else null. */
  static async detect(nodeId: string, log: Logger): Promise<DockerDriver | null> {
    const docker = new Docker();
    try {
      await docker.ping();
      return new DockerDriver(docker, nodeId, log);
    } catch {
      return null;
    }
  }

  async listImages(): Promise<string[]> {
    const images = await this.docker.listImages();
    return images.flatMap((i) => i.RepoTags ?? []).filter((t) => !t.startsWith(`${FN_REPO}:`) && t !== '<none>:<none>');
  }

  async prepare(task: CallTask, codeDir: string): Promise<PreparedFunction> {
    const rt = task.runtime;
    const image = functionImage(rt, task.sha256);
    const key = image.slice(FN_REPO.length + 1);
    const prepared: PreparedFunction = { warmKey: `${task.function}@${task.version}`, key: '', runtime: rt, codeDir, artifact: image, codeInArtifact: true };
    if (await this.imageExists(image)) return prepared;
    if (!(await this.imageExists(rt.image))) {
      throw new FerryError(ErrorCode.NOT_FOUND, `runtime image "${rt.image}" is not on node ${this.nodeId}`, { retryable: true });
    }
    const started = Date.now();
    const deps = rt.dependencies.trim();
    const build = await this.docker.createContainer({
      Image: rt.image,
      Cmd: ['sh', '-c', deps === '' ? 'true' : deps],
      WorkingDir: rt.path,
      Env: [`FERRY_CODE_DIR=${rt.path}`],
      Labels: { [Label.node]: this.nodeId, [Label.fn]: prepared.warmKey },
      // The dependencies step may fetch packages: the only step with network.
      HostConfig: { NetworkMode: 'bridge', CapDrop: ['ALL'], CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID'], SecurityOpt: ['no-new-privileges'] },
    });
    try {
      await build.putArchive(await codeArchive(codeDir, rt.path), { path: '/' });
      if (deps !== '') {
        await build.start();
        const { StatusCode } = (await build.wait()) as { StatusCode: number };
        if (StatusCode !== 0) {
          const logs = (await build.logs({ stdout: true, stderr: true, tail: 40 })).toString('utf8');
          throw new FerryError(
            ErrorCode.BAD_REQUEST,
            `dependencies step "${deps}" exited ${StatusCode}: ${stripDockerFrames(logs).slice(-2000)}`,
          );
        }
      }
      await build.commit({
        repo: FN_REPO,
        tag: key,
        changes: [`LABEL ${Label.fn}=${prepared.warmKey} ${Label.inputs}=${key}`, `WORKDIR ${rt.path}`],
      });
      this.log.info({ fn: prepared.warmKey, image, ms: Date.now() - started }, 'function image built');
      return prepared;
    } finally {
      await build.remove({ force: true }).catch(() => undefined);
    }
  }

  /** With no dependencies step, the runtime image plus a copy of the code runs the function at once. */
  async quickPrepare(task: CallTask, codeDir: string): Promise<PreparedFunction | null> {
    const rt = task.runtime;
    if (rt.dependencies.trim() !== '') return null;
    if (Date.now() - (this.runtimeImagesSeen.get(rt.image) ?? -Infinity) > RUNTIME_IMAGE_SEEN_MS) {
      if (!(await this.imageExists(rt.image))) return null;
      this.runtimeImagesSeen.set(rt.image, Date.now());
    }
    return { warmKey: `${task.function}@${task.version}`, key: '', runtime: rt, codeDir, artifact: rt.image, codeInArtifact: false };
  }

  async createSandbox(prepared: PreparedFunction, task: CallTask, options: SandboxOptions): Promise<Sandbox> {
    return DockerSandbox.create(this.docker, prepared, task, options);
  }

  async createRuntimeSandbox(runtime: RuntimeSpec, options: SandboxOptions): Promise<Sandbox> {
    return DockerSandbox.createForRuntime(this.docker, runtime, options);
  }

  async removeLeftovers(nodeId: string, ownerId?: string): Promise<number> {
    const filters = { label: [`${Label.node}=${nodeId}`, ...(ownerId ? [`${Label.owner}=${ownerId}`] : [])] };
    const leftovers = await this.docker.listContainers({ all: true, filters });
    await Promise.all(leftovers.map((c) => removeContainer(this.docker.getContainer(c.Id))));
    return leftovers.length;
  }

  private async imageExists(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch {
      return false;
    }
  }
}

/** The unpacked code as a tar stream whose entries sit under `targetPath` inside the container. */
async function codeArchive(codeDir: string, targetPath: string): Promise<NodeJS.ReadableStream> {
  const entries = await readdir(codeDir);
  const prefix = targetPath.replace(/^\/+/, '').replace(/\/+$/, '');
  const pack = tar.c({ cwd: codeDir, portable: true, prefix: prefix === '' ? undefined : prefix }, entries.length > 0 ? entries : ['.']);
  // node-tar's Pack is a minipass stream; dockerode wants a Node stream.
  return Readable.from(pack as AsyncIterable<Buffer>);
}

/** `docker logs` of a non-TTY container interleaves 8-byte frame headers; keep the text. */
function stripDockerFrames(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/[\x00-\x08][\x00]{3}[\s\S]{4}/g, '');
}

/**
 * Removes a container, and when the engine is already removing it (409: a process that asked
 * for it died meanwhile), waits until it is gone, so "removed" means gone. Bounded: 10 s.
 */
async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true });
    return;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 409) return;
  }
  for (let i = 0; i < 100; i++) {
    const gone = await container.inspect().then(
      () => false,
      (err: { statusCode?: number }) => err.statusCode === 404,
    );
    if (gone) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
