/**
 * Collects a stream's bytes up to a cap; past it, bytes are counted and dropped and the output is
 * marked truncated, so a function printing gigabytes cannot exhaust the node's memory.
 */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private seen = 0;

  constructor(private readonly capBytes: number) {}

  push(chunk: Buffer): void {
    this.seen += chunk.length;
    const room = this.capBytes - this.kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }

  get truncated(): boolean {
    return this.seen > this.kept;
  }

  /** Total bytes written to the stream, kept or not. */
  get totalBytes(): number {
    return this.seen;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.kept).toString('utf8');
  }
}
