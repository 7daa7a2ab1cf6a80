import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { loadSession, onSessionChange, saveSession, type Session } from '../session';

// Sign-in for both pages (the admin page and the operations view): one session in this tab.

/** The tab's session, kept current when either page signs in or out. */
export function useSession(): Session | null {
  const [session, setSession] = useState(loadSession);
  useEffect(() => onSessionChange(() => setSession(loadSession())), []);
  return session;
}

export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M3 7l9-4 9 4v10l-9 4-9-4zM3 7l9 4 9-4M12 11v10" />
    </svg>
  );
}

/** The API key form: checks the key with `/admin/whoami`, then saves the session. */
export function SignIn({ heading, children }: { heading: string; children?: ComponentChildren }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const who = await request<{ principal: string; role: string }>('GET', '/admin/whoami', { key: key.trim() });
      saveSession({ key: key.trim(), principal: who.principal, role: who.role });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That key is not valid here.' : `Could not sign in: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        {children}
        <h1 id="signin-title">{heading}</h1>
        <p class="muted">Use your API key. It stays in this browser tab only and is sent in a header, never in a URL.</p>
        <label>
          API key
          <input name="apiKey" type="password" autoComplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} autoFocus />
        </label>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
