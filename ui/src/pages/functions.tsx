import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, post, query } from '../api';
import { useMay } from '../auth';
import { ActionButton, ErrorNote, Section } from '../parts/common';
import { duration, time } from '../parts/format';
import { Table } from '../parts/table';
import { Link, navigate } from '../router';
import type { FunctionVersion, Runtime } from '../types';
import { useApi } from '../use-api';

export function FunctionsPage(): JSX.Element {
  const may = useMay();
  const list = useApi<{ functions: FunctionVersion[] }>('/v1/functions');
  return (
    <div class="page">
      <Section title="Functions">
        <ErrorNote error={list.error} />
        {list.data ? (
          <Table
            testId="functions-table"
            rows={list.data.functions}
            empty="No functions yet."
            columns={['name', 'latest', 'runtime', 'timeout', 'memory', 'pushed']}
            row={(f) => (
              <tr key={f.name}>
                <td>
                  <Link href={`/functions/${f.name}`}>{f.name}</Link>
                </td>
                <td>{`v${f.version}`}</td>
                <td>{f.runtime}</td>
                <td>{duration(f.timeoutMs)}</td>
                <td>{f.memoryMb ? `${f.memoryMb} MiB` : '–'}</td>
                <td>{time(f.createdAt)}</td>
              </tr>
            )}
          />
        ) : null}
      </Section>
      {may('deploy') ? <PushForm onPushed={(f) => navigate(`/functions/${f.name}`)} /> : null}
    </div>
  );
}

/** One function: its versions and their options, invoke it, push a new version, delete it. */
export function FunctionPage({ name }: { name: string }): JSX.Element {
  const may = useMay();
  const versions = useApi<{ versions: FunctionVersion[] }>(`/v1/functions/${encodeURIComponent(name)}/versions`);
  const list = versions.data ? [...versions.data.versions].sort((a, b) => b.version - a.version) : [];
  const latest = list[0];
  return (
    <div class="page">
      <Section
        title={`Function ${name}`}
        actions={
          <>
            <Link href={`/calls?funcName=${encodeURIComponent(name)}`}>its calls →</Link>
            {may('deploy') && latest ? (
              <ActionButton
                label="Delete"
                class="danger"
                confirm={`Delete function ${name} and every version of it?`}
                run={() => api('DELETE', `/v1/functions/${encodeURIComponent(name)}`).then(() => navigate('/functions'))}
              />
            ) : null}
          </>
        }
      >
        <ErrorNote error={versions.error} />
        {versions.data ? (
          <Table
            testId="versions-table"
            rows={list}
            empty="No versions."
            columns={['version', 'runtime', 'size', 'timeout', 'memory', 'retry', 'stuck after', 'env', 'secrets', 'pushed']}
            row={(v) => (
              <tr key={v.version}>
                <td>{`v${v.version}`}</td>
                <td>{v.runtime}</td>
                <td>{`${v.size} B`}</td>
                <td>{duration(v.timeoutMs)}</td>
                <td>{`${v.memoryMb} MiB`}</td>
                <td class="mono">{v.retry ? JSON.stringify(v.retry) : 'none'}</td>
                <td>{duration(v.stuckAfterMs)}</td>
                <td class="mono">{Object.keys(v.env).join(', ') || '–'}</td>
                <td class="mono">{v.secrets.join(', ') || '–'}</td>
                <td>{time(v.createdAt)}</td>
              </tr>
            )}
          />
        ) : null}
      </Section>
      {may('invoke') && latest ? <InvokeForm name={name} versions={list.map((v) => v.version)} /> : null}
      {may('deploy') ? <PushForm name={name} runtime={latest?.runtime} onPushed={versions.reload} /> : null}
    </div>
  );
}

/** Invoke a version with JSON params, then go to the call. */
function InvokeForm({ name, versions }: { name: string; versions: number[] }): JSX.Element {
  const [params, setParams] = useState('{}');
  const [version, setVersion] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const submit = (e: Event): void => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(params);
    } catch (err) {
      return setError(new Error(`params are not JSON: ${(err as Error).message}`));
    }
    const ref = version ? `${name}@${version}` : name;
    post<{ id: string }>(`/v1/functions/${encodeURIComponent(ref)}/invoke`, body).then((r) => navigate(`/calls/${r.id}`), setError);
  };
  return (
    <Section title="Invoke">
      <form class="stack" onSubmit={submit}>
        <label>
          version{' '}
          <select aria-label="version" value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>
            <option value="">latest</option>
            {versions.map((v) => (
              <option value={String(v)}>{`v${v}`}</option>
            ))}
          </select>
        </label>
        <label for="invoke-params">params (JSON)</label>
        <textarea id="invoke-params" rows={4} value={params} onInput={(e) => setParams((e.target as HTMLTextAreaElement).value)} />
        <button type="submit">Invoke</button>
        <ErrorNote error={error} />
      </form>
    </Section>
  );
}

/** Push a version: a tar.gz bundle (code at its root) as multipart `module`, the runtime in the query so it is checked before the upload. */
function PushForm(props: { name?: string; runtime?: string | undefined; onPushed: (f: FunctionVersion) => void }): JSX.Element {
  const runtimes = useApi<{ runtimes: Runtime[] }>('/v1/runtimes');
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [pushed, setPushed] = useState<FunctionVersion | null>(null);
  const submit = (e: Event): void => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const field = (n: string): string => ((form.elements.namedItem(n) as HTMLInputElement | null)?.value ?? '').trim();
    const file = (form.elements.namedItem('module') as HTMLInputElement).files?.[0];
    if (!file) return setError(new Error('choose a bundle (.tar.gz) first'));
    const body = new FormData();
    for (const opt of ['timeoutMs', 'memoryMb']) if (field(opt)) body.set(opt, field(opt));
    body.set('module', file, file.name);
    setBusy(true);
    setError(null);
    api<FunctionVersion>('POST', `/v1/functions/${encodeURIComponent(props.name ?? field('name'))}${query({ runtime: field('runtime') })}`, body).then(
      (f) => {
        setBusy(false);
        setPushed(f);
        form.reset();
        props.onPushed(f);
      },
      (err: ApiError) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <Section title={props.name ? 'Push a new version' : 'Push a function'}>
      <form class="stack" onSubmit={submit} data-testid="push-form">
        {props.name ? null : (
          <>
            <label for="push-name">name</label>
            <input id="push-name" name="name" required />
          </>
        )}
        <label for="push-runtime">runtime</label>
        <select id="push-runtime" name="runtime" required>
          {(runtimes.data?.runtimes ?? []).map((r) => (
            <option value={r.name} selected={r.name === props.runtime}>
              {r.name}
            </option>
          ))}
        </select>
        <label for="push-module">bundle (.tar.gz, code at its root)</label>
        <input id="push-module" name="module" type="file" accept=".tar.gz,.tgz,application/gzip" required />
        <div class="row">
          <label>
            timeout ms <input name="timeoutMs" type="number" min={1} aria-label="timeout ms" />
          </label>
          <label>
            memory MiB <input name="memoryMb" type="number" min={1} aria-label="memory MiB" />
          </label>
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Pushing…' : 'Push'}
        </button>
        <ErrorNote error={error ?? runtimes.error} />
        {pushed ? <p class="ok" role="status">{`pushed ${pushed.name}@${pushed.version}`}</p> : null}
      </form>
    </Section>
  );
}
