import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, forgetKey, storedKey, whenUnauthenticated } from './api';
import { WhoamiContext } from './auth';
import { Layout } from './layout';
import { Login } from './pages/login';
import { Routes } from './routes';
import type { Whoami } from './types';
import './style.css';

/**
 * The key in sessionStorage checked with `/v1/whoami`; without a good one, the login form. With
 * the cluster's auth off, whoami answers without a key and no login is asked for.
 */
function App(): JSX.Element {
  const [me, setMe] = useState<Whoami | null>(null);
  const [checking, setChecking] = useState(true);
  const [note, setNote] = useState<string | null>(null);

  const logOut = (why: string | null): void => {
    forgetKey();
    setMe(null);
    setNote(why);
  };
  useEffect(() => {
    whenUnauthenticated(() => logOut('the key was refused (revoked or expired?): log in again'));
    // The key given (none stored: an empty one) keeps a 401 here from counting as a key refused.
    api<Whoami>('GET', '/v1/whoami', undefined, storedKey() ?? '').then(
      (w) => {
        setMe(w);
        setChecking(false);
      },
      () => setChecking(false),
    );
  }, []);

  if (checking) return <p class="loading">checking the key…</p>;
  if (me === null) return <Login note={note} onLogin={(w) => setMe(w)} />;
  return (
    <WhoamiContext.Provider value={me}>
      <Layout me={me} onLogOut={() => logOut(null)}>
        <Routes />
      </Layout>
    </WhoamiContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
