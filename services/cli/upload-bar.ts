import cliProgress from 'cli-progress';

/** A bar of a push's bytes sent and their rate, on stderr, drawn from the first bytes out. */
export class UploadBar {
  private bar: cliProgress.SingleBar | null = null;
  private readonly startedAt = Date.now();

  /** For the client's `onProgress`. */
  readonly update = (sent: number, total: number): void => {
    if (this.bar === null) {
      this.bar = new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes, {speed}', hideCursor: true }, cliProgress.Presets.shades_classic);
      this.bar.start(total, 0, { speed: '-' });
    }
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    this.bar.update(sent, { speed: `${(sent / 1024 / 1024 / seconds).toFixed(1)} MB/s` });
  };

  stop(): void {
    this.bar?.stop();
  }
}
