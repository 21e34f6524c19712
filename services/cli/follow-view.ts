import type { CallEvent, CallView, Progress } from '../../packages/client/src/index.js';
import { FINISHED, metricsText, progressText } from './call-view.js';
import { untilText } from './duration.js';
import { LiveLine } from './live-line.js';
import { assertNever } from './type-helpers.js';

/** `progress  30%`: a tag column, as wide as its longest tag, then the text. */
const tagged = (tag: string, text: string): string => `${tag.padEnd(8)}  ${text}`;

/**
 * `RUNNING (attempt 1 on cli-node)`, `PENDING (attempt 2)`, `PENDING (attempt 1, next attempt in
 * 12s)` while a retry waits out its back-off, `HELD (until dispatched)`, `ERROR — FUNCTION_ERROR: boom`
 */
function statusText(c: CallView): string {
  if (FINISHED.has(c.status)) return c.status + (c.error ? ` — ${c.error.code}: ${c.error.message}` : '');
  if (c.status === 'HELD') return 'HELD (until dispatched)';
  const where = c.status === 'RUNNING' && c.workerId ? ` on ${c.workerId}` : '';
  const next = c.status === 'PENDING' && typeof c.nextAttemptAt === 'number' ? `, next attempt ${untilText(c.nextAttemptAt)}` : '';
  return `${c.status} (attempt ${c.attempt}${where}${next})`;
}

/**
 * `ferry call --follow` for people: the call's state when the stream opens, then each status
 * change, progress and metrics report and ctx.log line as it arrives. On a terminal, progress and
 * metrics share one line redrawn in place below the rest; elsewhere (a pipe, a file) each change
 * is a line of its own.
 */
export class FollowView {
  private readonly live: LiveLine | null;
  private shown: { status: string; attempt: number } | null = null;
  private progress = '';
  private metrics = '';

  constructor(private readonly out: NodeJS.WriteStream) {
    this.live = out.isTTY ? new LiveLine(out) : null;
  }

  show(e: CallEvent): void {
    switch (e.event) {
      case 'call':
        this.onCall(e.data);
        return;
      case 'progress':
        this.onProgress(e.data.progress, e.data.metrics);
        return;
      case 'log':
        this.line(tagged('log', e.data.line));
        return;
      case 'end':
        this.onCall(e.data);
        this.live?.clear();
        return;
      default:
        assertNever(e);
    }
  }

  private onCall(c: CallView): void {
    if (this.shown === null) {
      this.shown = { status: c.status, attempt: c.attempt };
      this.line(`call ${c.callNum} (${c.id}) ${c.funcName}@${c.version}: ${statusText(c)}`);
      this.onProgress(c.progress ?? undefined, c.metrics ?? undefined);
      return;
    }
    if (c.status === this.shown.status && c.attempt === this.shown.attempt) return;
    this.shown = { status: c.status, attempt: c.attempt };
    // The live line belongs to the status before; a new attempt reports its progress afresh.
    this.live?.clear();
    this.progress = this.metrics = '';
    this.line(tagged('status', statusText(c)));
  }

  private onProgress(progress: Progress | undefined, metrics: Record<string, number> | undefined): void {
    const p = progress === undefined ? this.progress : progressText(progress);
    const m = metrics === undefined ? this.metrics : metricsText(metrics);
    if (this.live) {
      if (p || m) this.live.set(tagged(p ? 'progress' : 'metrics', [p, m].filter(Boolean).join('  ')));
    } else {
      // Unchanged reports would only repeat lines.
      if (p !== this.progress) this.line(tagged('progress', p));
      if (m !== this.metrics) this.line(tagged('metrics', m));
    }
    this.progress = p;
    this.metrics = m;
  }

  private line(text: string): void {
    if (this.live) this.live.print(text);
    else this.out.write(text + '\n');
  }
}
