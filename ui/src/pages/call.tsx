import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { useMay } from '../auth';
import { LineChart } from '../parts/chart';
import { ActionButton, ErrorNote, Json, Section } from '../parts/common';
import { duration, metric, time } from '../parts/format';
import { fractionOf, ProgressBar, StatusBadge } from '../parts/status';
import { Timeline } from '../parts/timeline';
import { Facts } from '../parts/table';
import { Link, navigate } from '../router';
import { streamEvents } from '../sse';
import { isEnded, type Call, type Execution, type Logs, type Metrics, type Progress } from '../types';

/** How many live readings of each metric the page keeps for its chart. */
const METRIC_HISTORY = 300;
const CHARTED_METRICS = 4;

/** One call: its state, progress, metrics and log lines live from its events stream; its attempts; what may be done with it. */
export function CallPage({ id }: { id: string }): JSX.Element {
  const may = useMay();
  const [call, setCall] = useState<Call | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [executions, setExecutions] = useState<Execution[]>([]);
  const [logs, setLogs] = useState<Logs | null>(null);
  const [lines, setLines] = useState<string[]>([]);
  const [history, setHistory] = useState<Record<string, number[]>>({});
  const [now, setNow] = useState(Date.now());
  // A retried call runs again: its stream, closed at its end, is opened anew.
  const [attemptsSeen, setAttemptsSeen] = useState(0);

  const loadExecutions = (): void => {
    get<{ executions: Execution[] }>(`/v1/calls/${id}/executions`).then((r) => setExecutions(r.executions), setError);
  };
  const loadLogs = (): void => {
    get<Logs>(`/v1/calls/${id}/logs`).then(setLogs, setError);
  };
  const addMetrics = (m: Metrics | null | undefined): void => {
    if (!m) return;
    setHistory((h) => {
      const next = { ...h };
      for (const [k, v] of Object.entries(m)) next[k] = [...(h[k] ?? []), v].slice(-METRIC_HISTORY);
      return next;
    });
  };

  // The stream says the call first, then every change: the page needs no other read of the call.
  useEffect(() => {
    const stop = streamEvents(`/v1/calls/${encodeURIComponent(id)}/events`, {
      onMessage: (m) => {
        if (m.event === 'call' || m.event === 'end') {
          const c = m.data as Call;
          setCall(c);
          loadExecutions();
          if (m.event === 'end') loadLogs();
        } else if (m.event === 'progress') {
          const p = m.data as { progress?: Progress; metrics?: Metrics };
          setCall((c) => (c ? { ...c, ...(p.progress !== undefined ? { progress: p.progress } : {}), ...(p.metrics !== undefined ? { metrics: p.metrics } : {}) } : c));
          addMetrics(p.metrics);
        } else if (m.event === 'log') setLines((l) => [...l, (m.data as { line: string }).line]);
      },
      onEnd: (err) => {
        if (!err) return;
        // The stream answers only for a call that exists: read it plainly to say why.
        get<Call>(`/v1/calls/${encodeURIComponent(id)}`).then(setCall, setError);
      },
    });
    return stop;
  }, [id, attemptsSeen]);

  const running = call !== null && !isEnded(call.status);
  useEffect(() => {
    if (!running) return;
    // Durations and the running bar of the timeline grow while the call runs.
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  useEffect(() => {
    if (call && isEnded(call.status)) addMetrics(call.metrics);
  }, [call?.id]);

  if (!call) return error ? <ErrorNote error={error} /> : <p class="loading">loading…</p>;

  const fraction = fractionOf(call.progress);
  const shownLog = logs ? logs.log : lines.join('\n');
  const rerun = async (): Promise<void> => {
    const made = await post<{ id: string }>(`/v1/functions/${encodeURIComponent(`${call.funcName}@${call.version}`)}/invoke`, call.params ?? {});
    navigate(`/calls/${made.id}`);
  };
  const retried = (): void => {
    setLogs(null);
    setLines([]);
    setAttemptsSeen((n) => n + 1);
  };
  // The live call's attempt is newer than the list read at its last change; its node, the call's own.
  const current = call.currentExecution ? { ...call.currentExecution, nodeId: call.currentExecution.nodeId ?? call.workerId } : null;
  const charted = Object.entries(history).slice(0, CHARTED_METRICS);

  return (
    <div class="page">
      <Section
        title={`Call ${call.callNum}`}
        actions={
          may('invoke') ? (
            <>
              {call.status === 'HELD' ? <ActionButton label="Dispatch" run={() => post(`/v1/calls/${call.id}/dispatch`)} /> : null}
              {!isEnded(call.status) ? <ActionButton label="Cancel" class="danger" confirm={`Cancel call ${call.callNum}?`} run={() => post(`/v1/calls/${call.id}/cancel`)} /> : null}
              {isEnded(call.status) && call.status !== 'DONE' ? <ActionButton label="Retry" run={() => post(`/v1/calls/${call.id}/retry`).then(retried)} /> : null}
              {isEnded(call.status) ? <ActionButton label="Re-run" run={rerun} /> : null}
            </>
          ) : null
        }
      >
        <Facts
          facts={[
            ['id', <span class="mono">{call.id}</span>],
            ['function', <Link href={`/functions/${call.funcName}`}>{`${call.funcName}@${call.version}`}</Link>],
            [
              'status',
              <>
                <StatusBadge status={call.status} />
                {call.deadLetter ? <span class="badge dead">dead letter</span> : null}
              </>,
              'call-status',
            ],
            ['attempt', call.attempt],
            ['node', current?.nodeId ?? '–'],
            ['created', time(call.createdAt)],
            ['started', time(call.startedAt)],
            ['finished', time(call.finishedAt)],
            [call.finishedAt ? 'took' : 'running for', call.startedAt ? duration((call.finishedAt ?? now) - call.startedAt) : '–'],
            ['session', call.sessionId ? <Link href={`/sessions/${call.sessionId}`}>{call.sessionId}</Link> : null],
            ['invoked by', call.invokedBy ? <span class="mono">{call.invokedBy}</span> : null],
          ]}
        />
        {fraction !== null ? <ProgressBar fraction={fraction} label="progress" /> : null}
        {call.progress !== null && typeof call.progress === 'object' ? <p class="hint mono">{JSON.stringify(call.progress)}</p> : null}
      </Section>

      <div class="grid2">
        <Section title="Params">
          <Json value={call.params} />
        </Section>
        <Section title={call.error ? 'Error' : 'Result'}>
          {call.error ? (
            <pre class="json error-text" data-testid="call-error">{`${call.error.code}: ${call.error.message}`}</pre>
          ) : call.status === 'DONE' ? (
            <Json value={call.result ?? ''} />
          ) : (
            <p class="empty">Not finished.</p>
          )}
        </Section>
      </div>

      {call.metrics && Object.keys(call.metrics).length > 0 ? (
        <Section title="Metrics">
          <table class="kv" data-testid="metrics">
            <tbody>
              {Object.entries(call.metrics).map(([k, v]) => (
                <tr>
                  <th>{k}</th>
                  <td>{metric(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="charts">
            {charted
              .filter(([, vs]) => vs.length > 1)
              .map(([k, vs]) => (
                <LineChart title={k} xs={vs.map((_, i) => i + 1)} xLabel={(i) => `report ${i}`} lines={[{ name: k, values: vs, class: 'c1' }]} />
              ))}
          </div>
        </Section>
      ) : null}

      <Section title="Executions">
        <Timeline executions={executions.map((e) => (e.executionId === current?.executionId ? current : e))} createdAt={call.createdAt} now={now} />
      </Section>

      <Section title="Logs">
        {shownLog ? <pre class="log" data-testid="log">{shownLog}</pre> : <p class="empty">No log lines.</p>}
        {logs?.stdout ? (
          <>
            <h3>stdout</h3>
            <pre class="log">{logs.stdout}</pre>
          </>
        ) : null}
        {logs?.stderr ? (
          <>
            <h3>stderr</h3>
            <pre class="log">{logs.stderr}</pre>
          </>
        ) : null}
        {logs?.truncated ? <p class="hint">The output was cut at the node's limit.</p> : null}
      </Section>
    </div>
  );
}
