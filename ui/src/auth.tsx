import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Role, Whoami } from './types';

/** What a role may do, as the api's table of roles has it (the api refuses the rest anyway). */
const mayByRole: Record<Role, ReadonlySet<Action>> = {
  admin: new Set(['invoke', 'deploy', 'runtimes', 'keys']),
  developer: new Set(['invoke', 'deploy']),
  invoker: new Set(['invoke']),
  reader: new Set(),
};
export type Action = 'invoke' | 'deploy' | 'runtimes' | 'keys';

export const WhoamiContext = createContext<Whoami>({ keyId: null, name: null, role: null, auth: 'off' });

/** Whether the key logged in may do `action`; with auth off, anyone may. */
export function useMay(): (action: Action) => boolean {
  const me = useContext(WhoamiContext);
  return (action) => (me.auth === 'off' ? true : me.role !== null && mayByRole[me.role].has(action));
}
