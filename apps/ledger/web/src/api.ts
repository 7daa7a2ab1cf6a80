import { loadSession, saveSession } from './session';

/** An answer other than 2xx, with the API's own error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

function headers(key?: string): Record<string, string> {
  const k = key ?? loadSession()?.key;
  return { accept: 'application/json', ...(k ? { 'x-api-key': k } : {}) };
}

export async function request<T>(method: string, path: string, options: { body?: unknown; key?: string; signal?: AbortSignal } = {}): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...headers(options.key), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { error?: string; message?: string };
    const message = typeof b.message === 'string' ? b.message : `${res.status} ${res.statusText}`;
    // A key that stopped working (rotated, or a stale tab) ends the session.
    if (res.status === 401 && !options.key) saveSession(null);
    throw new ApiError(res.status, typeof b.error === 'string' ? b.error : `HTTP_${res.status}`, message, body);
  }
  return body as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, { signal });
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body });

/** Builds `path?a=1&b=2`, leaving out empty values. */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const enc = encodeURIComponent;

/**
 * Follows a server-sent-events endpoint with fetch() and a streaming body (EventSource cannot send
 * the key header). Reconnects after `retry` ms until stopped.
 */
export function followStream(path: string, onEvent: (event: string, data: string) => void, onState: (connected: boolean) => void): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let retryMs = 3000;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
        if (res.status === 401) {
          saveSession(null);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of frame.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'event') event = val;
              else if (field === 'data') data.push(val);
              else if (field === 'retry' && /^\d+$/.test(val)) retryMs = Number(val);
            }
            if (data.length) onEvent(event, data.join('\n'));
          }
        }
      } catch {
        // fall through to reconnect
      }
      onState(false);
      if (!stopped) await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
