import { metricsSchema, progressSchema } from '../../../shared/protocol/call-outcome.js';
import type { ProgressSink } from '../call-task.js';
import type { CappedOutput } from '../capped-output.js';

const PREFIX = '##ferry ';
const PREFIX_BYTES = Buffer.from(PREFIX);
/** A report line longer than this is not a report: it goes to stderr as it is. */
const MAX_REPORT_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * An exec function reports progress, metrics and log lines with no SDK, by writing lines to its
 * stderr: `##ferry progress 0.4`, `##ferry progress {"current":3,"total":10}`,
 * `##ferry metrics {"rows":120}`, `##ferry log text`. This splits its stderr as it streams: such
 * lines go to the sink, everything else (and a report line that does not parse) to stderr.
 * Only the start of a line is held back, and only while it could still be a report.
 * `##ferry final` says the function's failure, should it exit non-zero, is not to be retried.
 */
export class ExecReports {
  private line: Buffer[] = [];
  private lineBytes = 0;
  private finalSaid = false;

  constructor(
    private readonly stderr: CappedOutput,
    private readonly sink: ProgressSink,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, from);
      const end = nl < 0 ? chunk.length : nl + 1;
      this.take(chunk.subarray(from, end), nl >= 0);
      from = end;
    }
  }

  /** Whether the function wrote `##ferry final`: a non-zero exit is then a final failure. */
  get final(): boolean {
    return this.finalSaid;
  }

  /** The stream ended: a report line without its newline still counts. */
  end(): void {
    if (this.lineBytes > 0) this.finishLine();
  }

  private take(piece: Buffer, endsLine: boolean): void {
    if (this.lineBytes === 0 && !couldBeReport(piece)) {
      this.stderr.push(piece);
      return;
    }
    this.line.push(piece);
    this.lineBytes += piece.length;
    const held = Buffer.concat(this.line, this.lineBytes);
    if (!couldBeReport(held) || this.lineBytes > MAX_REPORT_BYTES) {
      this.flush(held);
      return;
    }
    if (endsLine) this.finishLine();
  }

  private finishLine(): void {
    const held = Buffer.concat(this.line, this.lineBytes);
    if (!this.report(held.toString('utf8').replace(/\r?\n$/, ''))) this.stderr.push(held);
    this.line = [];
    this.lineBytes = 0;
  }

  private flush(held: Buffer): void {
    this.stderr.push(held);
    this.line = [];
    this.lineBytes = 0;
  }

  /** True when `text` was a well-formed report and went to the sink. */
  private report(text: string): boolean {
    if (!text.startsWith(PREFIX)) return false;
    const body = text.slice(PREFIX.length);
    const space = body.indexOf(' ');
    const kind = space < 0 ? body : body.slice(0, space);
    const value = space < 0 ? '' : body.slice(space + 1);
    switch (kind) {
      case 'log':
        this.sink.log(value);
        return true;
      case 'final':
        // Nothing may follow the word: a line that says more is no report and stays visible in stderr.
        if (value.trim() !== '') return false;
        this.finalSaid = true;
        return true;
      case 'progress': {
        const parsed = progressSchema.safeParse(parseJson(value));
        if (parsed.success) this.sink.progress(parsed.data);
        return parsed.success;
      }
      case 'metrics': {
        const parsed = metricsSchema.safeParse(parseJson(value));
        if (parsed.success) this.sink.metrics(parsed.data);
        return parsed.success;
      }
      default:
        return false;
    }
  }
}

/** Whether bytes that begin a line may still turn out to be a report line. */
function couldBeReport(start: Buffer): boolean {
  const n = Math.min(start.length, PREFIX_BYTES.length);
  return start.subarray(0, n).equals(PREFIX_BYTES.subarray(0, n));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
