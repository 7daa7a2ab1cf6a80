import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, get, withQuery } from '../api';
import { EVENT_TYPES, EventBadge, Legend, ViolationBadge } from '../components/badges';
import { ViolationDetail, Who } from '../components/observation';
import { ErrorBox, Loading, Time } from '../components/common';
import { ago, feedKey, isoToLocal, localToIso, shortId } from '../format';
import { useInterval } from '../hooks';
import { href, hrefWithQuery, navigate, type Route } from '../router';
import type { LedgerEvent, Page, ShipmentSummary } from '../types';

const PAGE = 25;
const POLL_MS = 2000;

interface Filters {
  type?: string;
  q?: string;
  user?: string;
  from?: string;
  to?: string;
}

function filtersOf(route: Route): Filters {
  const f: Filters = {};
  for (const k of ['type', 'q', 'user', 'from', 'to'] as const) {
    const v = route.query.get(k)?.trim();
    if (v) f[k] = v;
  }
  return f;
}

interface Loaded {
  items: LedgerEvent[];
  nextCursor: string | null;
  note?: string;
}

/**
 * The ledger lists events by type, user and time; a shipment or order filter reads the matching
 * shipments' histories (`/shipments?q=`, then `/shipments/:id/events`) and pages them here.
 */
async function shipmentEvents(f: Filters, signal?: AbortSignal): Promise<{ events: LedgerEvent[]; shipments: number; more: boolean }> {
  const found = await get<Page<ShipmentSummary>>(withQuery('/shipments', { q: f.q, limit: 20 }), signal);
  const lists = await Promise.all(found.items.map((s) => get<{ items: LedgerEvent[] }>(`/shipments/${enc(s.shipmentId)}/events`, signal)));
  const from = f.from ? Date.parse(f.from) : -Infinity;
  const to = f.to ? Date.parse(f.to) : Infinity;
  const events = lists
    .flatMap((l) => l.items)
    .filter((e) => (!f.type || e.type === f.type) && (!f.user || e.initiatedBy === f.user) && e.timestamp >= from && e.timestamp <= to)
    .sort((a, b) => (feedKey(a) < feedKey(b) ? 1 : -1));
  return { events, shipments: found.items.length, more: found.nextCursor !== null };
}

async function loadPage(f: Filters, cursor: string | undefined, signal?: AbortSignal): Promise<Loaded> {
  if (f.q) {
    const { events, shipments, more } = await shipmentEvents(f, signal);
    const start = cursor ? Number(cursor) : 0;
    const end = start + PAGE;
    return {
      items: events.slice(start, end),
      nextCursor: end < events.length ? String(end) : null,
      note: `${events.length} events of ${shipments}${more ? '+' : ''} shipment${shipments === 1 ? '' : 's'} matching “${f.q}”${more ? ' (the first 20 shown; narrow the search)' : ''}`,
    };
  }
  const page = await get<Page<LedgerEvent>>(
    withQuery('/events', { type: f.type, initiatedBy: f.user, from: f.from, to: f.to, cursor, limit: PAGE }),
    signal,
  );
  return { items: page.items, nextCursor: page.nextCursor };
}

export function EventsPage({ route }: { route: Route }) {
  const filters = filtersOf(route);
  const filterKey = JSON.stringify(filters);
  // Paging: the cursors of the pages before this one, so "newer" goes back exactly.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<Loaded | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [loading, setLoading] = useState(true);
  const [newCount, setNewCount] = useState(0);
  const [checkedAt, setCheckedAt] = useState<number | undefined>();
  const [reloadTick, setReloadTick] = useState(0);
  // The newest event the reader has been shown (key in feed order); newer ones are announced, not inserted.
  const head = useRef<string | undefined>(undefined);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    setCursors([undefined]);
    head.current = undefined;
    setNewCount(0);
  }, [filterKey]);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadPage(filters, cursor, controller.signal).then(
      (loaded) => {
        if (controller.signal.aborted) return;
        if (cursor === undefined) {
          head.current = loaded.items[0] ? feedKey(loaded.items[0]) : '';
          setNewCount(0);
        }
        setPage(loaded);
        setError(undefined);
        setLoading(false);
        setCheckedAt(Date.now());
      },
      (err: Error) => {
        if (controller.signal.aborted) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => controller.abort();
    // NOTE: filterKey stands for the filters the effect reads: it reloads when they change, not on every render.
  }, [filterKey, cursor, reloadTick]);

  // Every 2 s: how many events are newer than the newest one shown? The page itself never moves.
  useInterval(() => {
    if (head.current === undefined) return;
    loadPage(filters, undefined).then(
      (latest) => {
        const h = head.current ?? '';
        setNewCount(latest.items.filter((e) => feedKey(e) > h).length);
        setCheckedAt(Date.now());
      },
      () => undefined,
    );
  }, POLL_MS);

  const showNewest = () => {
    setCursors([undefined]);
    setReloadTick((t) => t + 1);
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Event ledger</h1>
        <p class="live" aria-live="off">
          <span class="pulse" aria-hidden="true" /> Live · checked {checkedAt ? ago(checkedAt) : '…'}
        </p>
      </div>
      <FilterForm filters={filters} />
      <Legend />
      <div class="new-banner-slot" aria-live="polite">
        {newCount > 0 ? (
          <button class="new-banner" type="button" onClick={showNewest} data-testid="new-events">
            {newCount >= PAGE ? `${PAGE}+` : newCount} new event{newCount === 1 ? '' : 's'} — show
          </button>
        ) : null}
      </div>
      {error ? <ErrorBox error={error} what="listing events" /> : null}
      {page?.note ? <p class="muted note">{page.note}</p> : null}
      {!page && loading ? <Loading what="Loading events" /> : null}
      {page ? <EventTable items={page.items} busy={loading} /> : null}
      {page ? (
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={cursors.length <= 1} onClick={showNewest}>
            ⇤ Newest
          </button>
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            ← Newer
          </button>
          <span class="muted">Page {cursors.length}</span>
          <button
            type="button"
            disabled={!page.nextCursor}
            onClick={() => {
              const next = page.nextCursor;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            Older →
          </button>
        </nav>
      ) : null}
    </div>
  );
}

function FilterForm({ filters }: { filters: Filters }) {
  const [type, setType] = useState(filters.type ?? '');
  const [q, setQ] = useState(filters.q ?? '');
  const [user, setUser] = useState(filters.user ?? '');
  const [from, setFrom] = useState(isoToLocal(filters.from));
  const [to, setTo] = useState(isoToLocal(filters.to));
  const key = JSON.stringify(filters);
  useEffect(() => {
    setType(filters.type ?? '');
    setQ(filters.q ?? '');
    setUser(filters.user ?? '');
    setFrom(isoToLocal(filters.from));
    setTo(isoToLocal(filters.to));
    // NOTE: key is the filters' content: the form resets when the URL's filters change, not when a render hands it an equal new object.
  }, [key]);
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(hrefWithQuery('#/events', { type, q: q.trim(), user: user.trim(), from: localToIso(from), to: localToIso(to) }));
  };
  const active = Object.keys(filters).length > 0;
  return (
    <form class="filters" onSubmit={apply} aria-label="Filter events">
      <label>
        Type
        <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
          <option value="">All types</option>
          {Object.entries(EVENT_TYPES).map(([t, s]) => (
            <option key={t} value={t}>
              {s.label} ({t})
            </option>
          ))}
        </select>
      </label>
      <label>
        Shipment or order id
        <input name="q" type="search" value={q} placeholder="e.g. 1345693 or ORD-17" onInput={(e) => setQ(e.currentTarget.value)} />
      </label>
      <label>
        User
        <input name="user" type="search" value={user} placeholder="e.g. tom.teamlead" onInput={(e) => setUser(e.currentTarget.value)} />
      </label>
      <label>
        From
        <input name="from" type="datetime-local" step="1" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
      </label>
      <label>
        To
        <input name="to" type="datetime-local" step="1" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
      </label>
      <div class="filter-buttons">
        <button type="submit" class="primary">
          Filter
        </button>
        {active ? (
          <button type="button" onClick={() => navigate('#/events')}>
            Clear
          </button>
        ) : null}
      </div>
    </form>
  );
}

export function EventTable({ items, busy, showShipment = true }: { items: LedgerEvent[]; busy?: boolean; showShipment?: boolean }) {
  if (items.length === 0) return <p class="empty">No events match.</p>;
  const open = (e: LedgerEvent) => navigate(href('events', e.eventId));
  return (
    <div class="table-wrap">
      <table class={`events ${busy ? 'busy' : ''}`} aria-busy={busy ? 'true' : 'false'}>
        <caption class="sr-only">Events, newest first. Press Enter on a row to open the event.</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            {showShipment ? <th scope="col">Shipment</th> : null}
            <th scope="col">Who</th>
            <th scope="col" class="col-trace">
              Trace
            </th>
            <th scope="col" class="col-version">
              Version
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr
              key={e.eventId}
              class={`row t-${EVENT_TYPES[e.type]?.key ?? 'other'} ${e.observation?.violation ? 'violation' : ''}`}
              tabIndex={0}
              data-event-id={e.eventId}
              data-testid={e.observation?.violation ? 'violation-row' : undefined}
              aria-label={`${e.observation?.violation ? 'Rule violation: ' : ''}${e.type} of shipment ${e.shipmentId}, version ${e.version}, by ${e.observation ? `${e.observation.observedBy} in ${e.observation.source}, reported by ${e.observation.reportedBy}` : e.initiatedBy}. Open.`}
              onClick={(ev) => {
                if ((ev.target as HTMLElement).closest('a,button')) return;
                open(e);
              }}
              onKeyDown={(ev) => {
                if (ev.key === 'Enter' && ev.target === ev.currentTarget) open(e);
              }}
            >
              <td class="col-time">
                <Time ms={e.timestamp} iso={e.at} />
              </td>
              <td>
                <EventBadge type={e.type} />
                {e.observation?.violation ? (
                  <>
                    {' '}
                    <ViolationBadge />
                    <ViolationDetail e={e} />
                  </>
                ) : null}
              </td>
              {showShipment ? (
                <td>
                  <a href={href('shipments', e.shipmentId)} tabIndex={-1}>
                    {e.shipmentId}
                  </a>
                </td>
              ) : null}
              <td>
                <a href={hrefWithQuery('#/events', { user: e.initiatedBy })} tabIndex={-1} title={`Events by ${e.initiatedBy}`}>
                  <Who e={e} />
                </a>
              </td>
              <td class="col-trace mono">
                <a href={href('traces', e.traceId)} tabIndex={-1} title={e.traceId}>
                  {shortId(e.traceId)}
                </a>
              </td>
              <td class="col-version num">v{e.version}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
