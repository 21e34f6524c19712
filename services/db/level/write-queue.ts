import type { Level } from 'level';

export type BatchOp = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

/** Told of each batch written: its operations and how long LevelDB took, in seconds. */
export type BatchObserver = (ops: number, seconds: number) => void;

interface Waiting {
  ops: BatchOp[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: writes that arrive while a batch is on disk go out together in the next one.
 * Batches reach LevelDB strictly in order (so a later counter value never lands before an
 * earlier one), and a caller's promise resolves only once its batch is written.
 */
export class WriteQueue {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(
    private readonly db: Level<string, unknown>,
    private readonly sync: boolean,
    /** Extra ops appended to each batch (counter snapshots), read at the moment the batch is cut. */
    private readonly snapshotOps: () => BatchOp[],
    private readonly observe: BatchObserver = () => undefined,
  ) {}

  write(ops: BatchOp[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      const ops = group.flatMap((w) => w.ops).concat(this.snapshotOps());
      try {
        const started = process.hrtime.bigint();
        await this.db.batch(ops, { sync: this.sync });
        this.observe(ops.length, Number(process.hrtime.bigint() - started) / 1e9);
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    this.writing = false;
  }
}
