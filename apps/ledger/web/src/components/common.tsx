import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';
import { clock, dateTime, isToday } from '../format';

export function ErrorBox({ error, what }: { error: Error; what?: string }) {
  const api = error instanceof ApiError ? error : undefined;
  return (
    <div class="error" role="alert">
      <strong>{api ? `${api.status} ${api.code}` : 'Could not reach the ledger'}</strong>
      {what ? <span> — {what}</span> : null}
      <div>{error.message}</div>
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

/** A time as the warehouse reads it (local), with the exact UTC instant on hover. */
export function Time({ ms, iso, withDate }: { ms: number; iso?: string; withDate?: boolean }) {
  const exact = iso ?? new Date(ms).toISOString();
  return (
    <time dateTime={exact} title={exact}>
      {withDate || !isToday(ms) ? `${dateTime(ms)}.${String(new Date(ms).getMilliseconds()).padStart(3, '0')}` : clock(ms)}
    </time>
  );
}

export function Card({ title, children, actions, class: cls }: { title?: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ''}`}>
      {title || actions ? (
        <header class="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions ? <div class="card-actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

/** Any decoded JSON value as nested definition tables; every value is rendered as text. */
export function DataView({ value }: { value: unknown }) {
  if (value === null) return <span class="null">null</span>;
  if (value === undefined) return <span class="null">—</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="null">[ ]</span>;
    return (
      <ol class="data-list">
        {value.map((v, i) => (
          <li key={i}>
            <DataView value={v} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return <span class="null">no data: this event type carries none</span>;
    return (
      <table class="kv">
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>
                <DataView value={v} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <span class={`v-${typeof value}`}>{typeof value === 'string' ? value : String(value)}</span>;
}
