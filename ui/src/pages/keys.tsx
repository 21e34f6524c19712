import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, post } from '../api';
import { ActionButton, ErrorNote, Section } from '../parts/common';
import { time } from '../parts/format';
import { StatusBadge } from '../parts/status';
import { Table } from '../parts/table';
import type { ApiKey, Role } from '../types';
import { useApi } from '../use-api';

const ROLES: Role[] = ['reader', 'invoker', 'developer', 'admin'];

/** API keys (admin only): the list, make one (shown this once), revoke. */
export function KeysPage(): JSX.Element {
  const keys = useApi<{ keys: ApiKey[] }>('/v1/keys');
  const [made, setMade] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const create = (e: Event): void => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const value = (n: string): string => (form.elements.namedItem(n) as HTMLInputElement | HTMLSelectElement).value.trim();
    const days = value('days');
    const body = { role: value('role'), ...(value('name') ? { name: value('name') } : {}), ...(days ? { expiresInSecs: Math.round(Number(days) * 86_400) } : {}) };
    post<{ key: string }>('/v1/keys', body).then((r) => {
      setMade(r.key);
      setError(null);
      form.reset();
      keys.reload();
    }, setError);
  };
  return (
    <div class="page">
      <Section title="Make a key">
        <form class="row" onSubmit={create}>
          <select name="role" aria-label="role">
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
          <input name="name" placeholder="name (optional)" aria-label="key name" />
          <input name="days" type="number" min={0} step="any" placeholder="expires in days" aria-label="expires in days" />
          <button type="submit">Make key</button>
        </form>
        <ErrorNote error={error} />
        {made ? (
          <div class="ok">
            <p>The new key, shown this once: copy it now.</p>
            <pre class="json" data-testid="new-key">{made}</pre>
          </div>
        ) : null}
      </Section>
      <Section title="Keys">
        <ErrorNote error={keys.error} />
        {keys.data ? (
          <Table
            testId="keys-table"
            rows={keys.data.keys}
            empty="No keys."
            columns={['id', 'name', 'role', 'made', 'by', 'expires', 'state', '']}
            row={(k) => (
              <tr key={k.keyId} data-key-id={k.keyId}>
                <td class="mono">{k.keyId}</td>
                <td>{k.name ?? '–'}</td>
                <td>{k.role}</td>
                <td>{time(k.createdAt)}</td>
                <td class="mono">{k.createdBy ?? '–'}</td>
                <td>{k.expiresAt ? time(k.expiresAt) : 'never'}</td>
                <td>
                  <StatusBadge status={k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt < Date.now() ? 'expired' : 'active'} />
                </td>
                <td>
                  {k.revokedAt ? null : (
                    <ActionButton label="Revoke" class="danger" confirm={`Revoke key ${k.keyId}? It stops working at once.`} run={() => api('DELETE', `/v1/keys/${k.keyId}`).then(keys.reload)} />
                  )}
                </td>
              </tr>
            )}
          />
        ) : null}
      </Section>
    </div>
  );
}
