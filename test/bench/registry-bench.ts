import { randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { RegistryClient } from '../../shared/clients/registry-client.js';

export interface RegistryBenchResult {
  bytes: number;
  pushMbPerSec: number;
  pullMbPerSec: number;
  /** Registry daemon peak resident memory (VmHWM), MiB, when readable. */
  registryPeakRssMib: number | null;
}

const MiB = 1024 * 1024;

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    for (let done = 0; done < bytes; done += MiB) await fh.write(randomBytes(Math.min(MiB, bytes - done)));
  } finally {
    await fh.close();
  }
}

async function peakRssMib(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** Pushes and pulls one random bundle of `bytes` through the registry daemon at `endpoint`. */
export async function benchRegistry(endpoint: string, registryPid: number | undefined, dir: string, bytes: number): Promise<RegistryBenchResult> {
  const src = path.join(dir, 'bundle.bin');
  const dest = path.join(dir, 'bundle.out');
  await writeRandomFile(src, bytes);
  const registry = new RegistryClient({ registryAddr: endpoint, requestTimeoutMs: 60_000, requestRetries: 0 });
  try {
    let t = process.hrtime.bigint();
    const { sha256 } = await registry.putFile(src);
    const pushSec = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    await registry.getToFile(sha256, dest, bytes);
    const pullSec = Number(process.hrtime.bigint() - t) / 1e9;
    return {
      bytes,
      pushMbPerSec: bytes / MiB / pushSec,
      pullMbPerSec: bytes / MiB / pullSec,
      registryPeakRssMib: await peakRssMib(registryPid),
    };
  } finally {
    await registry.close();
    await rm(src, { force: true });
    await rm(dest, { force: true });
  }
}
