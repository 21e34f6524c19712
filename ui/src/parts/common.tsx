import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from '../api';
import { pretty } from './format';

export function ErrorNote({ error }: { error: ApiError | Error | null }): JSX.Element | null {
  if (!error) return null;
  const code = 'code' in error ? `${(error as ApiError).code}: ` : '';
  return (
    <p class="error" role="alert">
      {code}
      {error.message}
    </p>
  );
}

export const Json = ({ value }: { value: unknown }): JSX.Element => <pre class="json">{pretty(value)}</pre>;

/**
 * A button that runs an action against the API, disabled while it runs, showing its error beside
 * it. With `confirm`, asks first (a kill or a revoke cannot be undone).
 */
export function ActionButton(props: { label: string; run: () => Promise<unknown>; confirm?: string; class?: string; disabled?: boolean }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const onClick = (): void => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(null);
    props.run().then(
      () => setBusy(false),
      (err: Error) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <span class="action">
      <button type="button" class={props.class ?? ''} disabled={busy || props.disabled} onClick={onClick}>
        {props.label}
      </button>
      <ErrorNote error={error} />
    </span>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }): JSX.Element {
  return (
    <section class="card">
      <header>
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** A "next page" control for the API's cursor paging: the cursors walked so far make "previous" possible. */
export function Pager({ cursors, next, onChange }: { cursors: string[]; next: string | null; onChange: (cursors: string[]) => void }): JSX.Element {
  return (
    <div class="pager">
      <button type="button" disabled={cursors.length === 0} onClick={() => onChange(cursors.slice(0, -1))}>
        ← previous page
      </button>
      <button type="button" disabled={next === null} onClick={() => next !== null && onChange([...cursors, next])}>
        next page →
      </button>
    </div>
  );
}
