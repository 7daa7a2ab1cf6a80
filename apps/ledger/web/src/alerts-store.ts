import { useEffect, useState } from 'preact/hooks';
import { followStream, get } from './api';
import type { Alert, Page } from './types';

/**
 * Live alerts for the whole page: the first page from `/alerts`, then `/alerts/stream` (fetch
 * streaming) for new alerts and acknowledgements as they happen.
 */
interface AlertsState {
  items: Alert[];
  connected: boolean;
  /** Alerts that arrived live since the page loaded, newest first (for the toast). */
  fresh: string[];
  nextCursor: string | null;
}

let state: AlertsState = { items: [], connected: false, fresh: [], nextCursor: null };
const listeners = new Set<() => void>();
let stop: (() => void) | undefined;

function set(next: Partial<AlertsState>) {
  state = { ...state, ...next };
  listeners.forEach((l) => l());
}

export function startAlerts(): void {
  stopAlerts();
  set({ items: [], fresh: [], connected: false, nextCursor: null });
  get<Page<Alert>>('/alerts?limit=100').then(
    (page) => {
      const known = new Set(state.items.map((a) => a.id));
      set({ items: [...state.items, ...page.items.filter((a) => !known.has(a.id))], nextCursor: page.nextCursor });
    },
    () => undefined,
  );
  stop = followStream(
    '/alerts/stream',
    (event, data) => {
      try {
        const payload = JSON.parse(data);
        if (event === 'alert') {
          if (state.items.some((a) => a.id === payload.id)) return;
          set({ items: [payload as Alert, ...state.items], fresh: [payload.id, ...state.fresh] });
        } else if (event === 'ack') {
          set({ items: state.items.map((a) => (a.id === payload.id ? { ...a, acknowledged: true, acknowledgedBy: payload.acknowledgedBy, acknowledgedAt: payload.acknowledgedAt } : a)) });
        }
      } catch {
        // a malformed frame is ignored
      }
    },
    (connected) => set({ connected }),
  );
}

export function stopAlerts(): void {
  stop?.();
  stop = undefined;
}

export function markAcknowledged(alert: Alert): void {
  set({ items: state.items.map((a) => (a.id === alert.id ? { ...a, ...alert } : a)) });
}

export function dismissFresh(): void {
  set({ fresh: [] });
}

export function useAlerts(): AlertsState {
  const [, force] = useState(0);
  useEffect(() => {
    const l = () => force((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return state;
}
