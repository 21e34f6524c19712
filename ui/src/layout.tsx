import type { ComponentChildren, JSX } from 'preact';
import { useMay } from './auth';
import { Link, useLocation } from './router';
import type { Whoami } from './types';

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: '/', label: 'Overview' },
  { href: '/calls', label: 'Calls' },
  { href: '/sessions', label: 'Sessions' },
  { href: '/runs', label: 'Runs' },
  { href: '/batches', label: 'Batches' },
  { href: '/functions', label: 'Functions' },
  { href: '/runtimes', label: 'Runtimes' },
  { href: '/nodes', label: 'Nodes' },
  { href: '/dead-letters', label: 'Dead letters' },
  { href: '/keys', label: 'Keys', admin: true },
];

export function Layout({ me, onLogOut, children }: { me: Whoami; onLogOut: () => void; children: ComponentChildren }): JSX.Element {
  const { path } = useLocation();
  const may = useMay();
  const active = (href: string): boolean => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));
  return (
    <div class="shell">
      <nav class="side">
        <div class="brand">Ferry</div>
        {NAV.filter((n) => !n.admin || may('keys')).map((n) => (
          <Link href={n.href} class={active(n.href) ? 'active' : ''}>
            {n.label}
          </Link>
        ))}
        <div class="who">
          <span data-testid="role">{me.auth === 'off' ? 'auth off' : `${me.name ?? me.keyId} · ${me.role}`}</span>
          <button type="button" class="link" onClick={onLogOut}>
            log out
          </button>
        </div>
      </nav>
      <main class="content">{children}</main>
    </div>
  );
}
