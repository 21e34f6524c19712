import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, storeKey } from '../api';
import type { Whoami } from '../types';

/** Asks for an API key, checks it with `/v1/whoami`, and keeps it for this tab only (sessionStorage). */
export function Login({ note, onLogin }: { note: string | null; onLogin: (me: Whoami) => void }): JSX.Element {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(note);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event): void => {
    e.preventDefault();
    const k = key.trim();
    setBusy(true);
    api<Whoami>('GET', '/v1/whoami', undefined, k).then(
      (me) => {
        storeKey(k);
        onLogin(me);
      },
      (err: ApiError) => {
        setBusy(false);
        setError(err.status === 401 ? 'that key is not valid (unknown, expired or revoked)' : err.message);
      },
    );
  };
  return (
    <main class="login">
      <form onSubmit={submit} class="card">
        <h1>Ferry</h1>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          placeholder="fry_<id>_<secret>"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" disabled={busy || key.trim() === ''}>
          Log in
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <p class="hint">The key stays in this tab only. The first admin key is in the data folder's admin.key.</p>
      </form>
    </main>
  );
}
