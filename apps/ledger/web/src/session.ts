// The API key lives in sessionStorage for this tab's session only: never in a URL, never in
// localStorage. The role is what `/admin/whoami` said at sign-in; it only decides what the page
// offers — the API decides what is allowed.

export interface Session {
  key: string;
  principal: string;
  role: string;
}

const STORAGE_KEY = 'waybill.admin.session';
const listeners = new Set<() => void>();

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    return typeof parsed.key === 'string' && typeof parsed.principal === 'string' && typeof parsed.role === 'string' ? (parsed as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
  listeners.forEach((l) => l());
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const canAcknowledge = (role: string) => role === 'team-lead' || role === 'supervisor';
export const canCorrect = (role: string) => role === 'supervisor';
