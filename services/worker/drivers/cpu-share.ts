import os from 'node:os';

/** Least CPU a call gets: less and a runtime's interpreter barely starts. */
const MIN_CPUS = 0.05;

/**
 * The CPU time a call of `memoryMb` may use, in billionths of a CPU (Docker's `NanoCpus`), shared
 * as AWS Lambda and OpenWhisk share it: in proportion to memory, one CPU per `mbPerCpu` MiB, at
 * least 0.05 CPU and at most every core of the host. 0 (no limit) when `mbPerCpu` is 0.
 */
export function nanoCpusFor(memoryMb: number, mbPerCpu: number, hostCpus = os.availableParallelism()): number {
  if (mbPerCpu === 0) return 0;
  const cpus = Math.min(Math.max(memoryMb / mbPerCpu, MIN_CPUS), hostCpus);
  return Math.round(cpus * 1e9);
}
