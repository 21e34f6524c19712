import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { nanoCpusFor } from '../../services/worker/drivers/cpu-share.js';

describe('a call\'s CPU share follows its memory', () => {
  it('gives one CPU per FERRY_MB_PER_CPU MiB: a quarter for 256 MB, one for 1 GiB', () => {
    expect(nanoCpusFor(256, 1024, 4)).toBe(250_000_000);
    expect(nanoCpusFor(1024, 1024, 4)).toBe(1_000_000_000);
    expect(nanoCpusFor(512, 256, 4)).toBe(2_000_000_000);
  });

  it('never less than 0.05 CPU nor more than the host\'s cores', () => {
    expect(nanoCpusFor(16, 1024, 4)).toBe(50_000_000);
    expect(nanoCpusFor(10_240, 1024, 2)).toBe(2_000_000_000);
  });

  it('sets no CPU limit when FERRY_MB_PER_CPU is 0', () => {
    expect(nanoCpusFor(256, 0, 4)).toBe(0);
  });
});

describe('sandbox settings', () => {
  it('default to an unprivileged user, a 64 MiB /tmp and one CPU per GiB', () => {
    expect(loadConfig({}).worker.sandbox).toEqual({ pidsLimit: 256, tmpMb: 64, mbPerCpu: 1024, user: { uid: 65534, gid: 65534 } });
  });

  it('read FERRY_SANDBOX_USER, FERRY_TMP_MB and FERRY_MB_PER_CPU', () => {
    const { sandbox } = loadConfig({ FERRY_SANDBOX_USER: '1000:100', FERRY_TMP_MB: '16', FERRY_MB_PER_CPU: '0' }).worker;
    expect(sandbox).toMatchObject({ tmpMb: 16, mbPerCpu: 0, user: { uid: 1000, gid: 100 } });
  });

  it('refuse a user that is not uid:gid, naming the variable', () => {
    expect(() => loadConfig({ FERRY_SANDBOX_USER: 'nobody' })).toThrow(ConfigError);
    expect(() => loadConfig({ FERRY_SANDBOX_USER: 'nobody' })).toThrow(/FERRY_SANDBOX_USER/);
  });
});
