import { describe, expect, it } from 'vitest';
import { CappedOutput } from '../../services/worker/capped-output.js';
import { ExecReports } from '../../services/worker/miniworker/exec-reports.js';

const sink = { progress: (): void => undefined, metrics: (): void => undefined, log: (): void => undefined };

/** `chunks` through an ExecReports, as an exec function's stderr would stream in. */
function split(...chunks: string[]): { stderr: string; final: boolean } {
  const stderr = new CappedOutput(1024);
  const reports = new ExecReports(stderr, sink);
  for (const chunk of chunks) reports.push(Buffer.from(chunk));
  reports.end();
  return { stderr: stderr.text(), final: reports.final };
}

describe('##ferry final', () => {
  it('is taken out of stderr and marks the run final, even split across chunks', () => {
    expect(split('before\n##fer', 'ry fin', 'al\nafter\n')).toEqual({ stderr: 'before\nafter\n', final: true });
  });

  it('counts without its newline at the end of the stream, and with trailing blanks', () => {
    expect(split('##ferry final')).toEqual({ stderr: '', final: true });
    expect(split('##ferry final  \r\n')).toEqual({ stderr: '', final: true });
  });

  it('is not a report when more follows the word: the line stays in stderr', () => {
    expect(split('##ferry final bad input\n')).toEqual({ stderr: '##ferry final bad input\n', final: false });
    expect(split('##ferry finally\n')).toEqual({ stderr: '##ferry finally\n', final: false });
  });

  it('is not said by a run that never wrote it', () => {
    expect(split('plain failure\n')).toEqual({ stderr: 'plain failure\n', final: false });
  });
});
