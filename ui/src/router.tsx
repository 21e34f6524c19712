import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Where the api serves the dashboard; every page's path is below it. */
export const BASE = '/ui';

const listeners = new Set<() => void>();

/** The page's path below {@link BASE} ('/' for the overview) and its query. */
export function currentLocation(): { path: string; query: URLSearchParams } {
  const full = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return { path: full === '' ? '/' : full, query: new URLSearchParams(location.search) };
}

/** Goes to `to` (a path below {@link BASE}, with an optional query) without reloading. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = BASE + to;
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

addEventListener('popstate', () => {
  for (const l of listeners) l();
});

/** The current location, re-rendering on every navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = (): void => setTick((n) => n + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return currentLocation();
}

/** A link inside the dashboard: a real href (open in a new tab works), followed without a reload. */
export function Link(props: { href: string; children: ComponentChildren; class?: string; title?: string }): JSX.Element {
  const onClick = (e: MouseEvent): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return (
    <a href={BASE + props.href} onClick={onClick} class={props.class} title={props.title}>
      {props.children}
    </a>
  );
}

/** Matches `path` against a pattern like `/calls/:id`; the params, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const segments = (x: string): string[] => x.split('/').filter(Boolean);
  const p = segments(pattern);
  const s = segments(path);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] ?? '';
    const got = s[i] ?? '';
    if (want.startsWith(':')) params[want.slice(1)] = decodeURIComponent(got);
    else if (want !== got) return null;
  }
  return params;
}
