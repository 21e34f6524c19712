import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, post } from '../api';
import { useMay } from '../auth';
import { ActionButton, ErrorNote, Section } from '../parts/common';
import { Table } from '../parts/table';
import type { Runtime } from '../types';
import { useApi } from '../use-api';

const FIELDS = ['name', 'image', 'path', 'run', 'dependencies'] as const;

export function RuntimesPage(): JSX.Element {
  const may = useMay();
  const list = useApi<{ runtimes: Runtime[] }>('/v1/runtimes');
  const [error, setError] = useState<ApiError | null>(null);
  const register = (e: Event): void => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const value = (n: string): string => ((form.elements.namedItem(n) as HTMLInputElement | HTMLSelectElement).value ?? '').trim();
    const body: Record<string, string> = { protocol: value('protocol') };
    for (const f of FIELDS) if (value(f)) body[f] = value(f);
    post('/v1/runtimes', body).then(() => {
      form.reset();
      setError(null);
      list.reload();
    }, setError);
  };
  return (
    <div class="page">
      <Section title="Runtimes">
        <ErrorNote error={list.error} />
        {list.data ? (
          <Table
            rows={list.data.runtimes}
            empty="No runtimes."
            columns={['name', 'image', 'protocol', 'path', 'run', 'dependencies', ...(may('runtimes') ? [''] : [])]}
            row={(r) => (
              <tr key={r.name}>
                <td>{r.name}</td>
                <td class="mono">{r.image}</td>
                <td>{r.protocol}</td>
                <td class="mono">{r.path}</td>
                <td class="mono">{r.run}</td>
                <td class="mono">{r.dependencies || '–'}</td>
                {may('runtimes') ? (
                  <td>
                    <ActionButton
                      label="Delete"
                      class="danger"
                      confirm={`Delete runtime ${r.name}?`}
                      run={() => api('DELETE', `/v1/runtimes/${encodeURIComponent(r.name)}`).then(list.reload)}
                    />
                  </td>
                ) : null}
              </tr>
            )}
          />
        ) : null}
      </Section>
      {may('runtimes') ? (
        <Section title="Register a runtime">
          <form class="stack" onSubmit={register}>
            <div class="row">
              <input name="name" placeholder="name" aria-label="name" required />
              <input name="image" placeholder="image" aria-label="image" required />
              <input name="path" placeholder="path in the image (/ws)" aria-label="path" />
              <input name="run" placeholder="run (main.py)" aria-label="run" required />
              <select name="protocol" aria-label="protocol">
                <option value="agent">agent</option>
                <option value="exec">exec</option>
              </select>
            </div>
            <input name="dependencies" placeholder="dependencies command (optional)" aria-label="dependencies" />
            <button type="submit">Register</button>
            <ErrorNote error={error} />
          </form>
        </Section>
      ) : null}
    </div>
  );
}
