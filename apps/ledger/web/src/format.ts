const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local wall-clock time with milliseconds: `14:03:07.123`. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local date and time: `2025-03-01 14:03:07`. */
export function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function isToday(ms: number): boolean {
  return new Date(ms).toDateString() === new Date().toDateString();
}

/** Relative age: `12 s ago`, `5 min ago`. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Minor units with the currency: `EUR 1,234.56` (never floating-point arithmetic on money). */
export function money(minor: number, currency: string): string {
  const sign = minor < 0 ? '−' : '';
  const abs = Math.abs(minor);
  const units = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}${currency} ${units}.${pad(abs % 100)}`;
}

/** A `datetime-local` value (local time, no zone) → ISO instant with zone, or undefined. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** ISO instant → `datetime-local` value in local time (seconds precision). */
export function isoToLocal(iso: string | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const shortId = (id: string, n = 8) => (id.length > n + 1 ? `${id.slice(0, n)}…` : id);

/** The feed order key the ledger sorts events by: 15-digit epoch ms, then event id. */
export const feedKey = (e: { timestamp: number; eventId: string }) => `${String(e.timestamp).padStart(15, '0')}|${e.eventId}`;
