import { enc, get } from '../api';
import { EVENT_TYPES, EventBadge, statusKey } from '../components/badges';
import { Card, ErrorBox, Loading, Time } from '../components/common';
import { money, shortId } from '../format';
import { useAsync } from '../hooks';
import { href } from '../router';
import type { TraceItem } from '../types';

interface TraceAnswer {
  traceId: string;
  items: TraceItem[];
  truncated: boolean;
}

function laneOf(item: TraceItem): string {
  switch (item.kind) {
    case 'event':
      return `Shipment ${item.event.shipmentId}`;
    case 'outcome':
      return `Shipment ${item.outcome.shipmentId}`;
    case 'transaction':
      return `Account ${item.transaction.accountId}`;
  }
}

const ms = (item: TraceItem) => Date.parse(item.at);

/** Everything one request caused, across shipments and accounting, drawn as lanes over time. */
export function TracePage({ id }: { id: string }) {
  const { data, error, loading } = useAsync((signal) => get<TraceAnswer>(`/traces/${enc(id)}`, signal), [id]);
  if (error) return <ErrorBox error={error} what={`trace ${id}`} />;
  if (!data) return loading ? <Loading what="Loading the trace" /> : null;
  const items = data.items;
  const t0 = items.length ? ms(items[0]) : 0;
  const lanes = [...new Set(items.map(laneOf))];
  const shipments = new Set(items.flatMap((i) => (i.kind === 'event' ? [i.event.shipmentId] : i.kind === 'outcome' ? [i.outcome.shipmentId] : [])));
  const accounts = new Set(items.flatMap((i) => (i.kind === 'transaction' ? [i.transaction.accountId] : [])));
  const rejected = items.filter((i) => i.kind === 'outcome' && i.outcome.status === 'Rejected').length;
  return (
    <div class="page">
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href="#/events">Events</a> <span aria-hidden="true">›</span> <span>Trace</span>
      </nav>
      <div class="page-head">
        <h1>
          Trace <span class="mono small">{data.traceId}</span>
        </h1>
      </div>
      <p class="summary-line">
        {items.length} records · {shipments.size} shipment{shipments.size === 1 ? '' : 's'} · {accounts.size} account{accounts.size === 1 ? '' : 's'}
        {rejected ? ` · ${rejected} rejected command${rejected === 1 ? '' : 's'}` : ''} · over {items.length ? ms(items[items.length - 1]) - t0 : 0} ms
        {data.truncated ? ' · only the first 1000 shown' : ''}
      </p>
      <Card title="Timeline">
        <Swimlanes items={items} lanes={lanes} t0={t0} />
      </Card>
      <Card title="Step by step">
        <ol class="timeline" data-testid="trace-timeline">
          {items.map((item, i) => (
            <li key={i} class={`tl-item tl-${item.kind}`}>
              <div class="tl-when">
                <Time ms={ms(item)} iso={item.at} />
                <span class="muted">+{ms(item) - t0} ms</span>
              </div>
              <div class="tl-what">
                <TraceEntry item={item} />
              </div>
            </li>
          ))}
        </ol>
      </Card>
    </div>
  );
}

function TraceEntry({ item }: { item: TraceItem }) {
  switch (item.kind) {
    case 'event': {
      const e = item.event;
      return (
        <>
          <a href={href('events', e.eventId)} class="tl-link">
            <EventBadge type={e.type} /> shipment {e.shipmentId} → v{e.version}
          </a>
          <span class="muted"> by {e.initiatedBy}</span>
        </>
      );
    }
    case 'outcome': {
      const o = item.outcome;
      return (
        <>
          <span class={`pill ${o.status === 'Rejected' ? 'pill-bad' : 'pill-ok'}`}>{o.status === 'Rejected' ? '✕ Rejected' : '✓ Accepted'}</span> command <strong>{o.commandType}</strong> on{' '}
          <a href={href('shipments', o.shipmentId)}>shipment {o.shipmentId}</a>
          <span class="muted"> by {o.initiatedBy} ({o.role})</span>
          {o.rejection ? <div class="reason">{o.rejection.reason}</div> : null}
        </>
      );
    }
    case 'transaction': {
      const t = item.transaction;
      return (
        <>
          <span class="pill pill-money">{t.kind}</span> <strong>{money(t.amountMinor, t.currency)}</strong> on{' '}
          <a href={href('accounts', t.accountId)}>account {t.accountId}</a>
          {t.reason ? <span class="muted"> — {t.reason}</span> : null}
        </>
      );
    }
  }
}

function Swimlanes({ items, lanes, t0 }: { items: TraceItem[]; lanes: string[]; t0: number }) {
  const laneH = 58;
  const left = 170;
  const step = Math.max(56, Math.min(110, 800 / Math.max(1, items.length)));
  const width = left + 40 + step * Math.max(1, items.length - 1) + 40;
  const height = 30 + lanes.length * laneH;
  const x = (i: number) => left + 30 + i * step;
  const y = (lane: string) => 24 + lanes.indexOf(lane) * laneH + laneH / 2;
  const last = new Map<string, number>();
  const links: Array<[number, number, string]> = [];
  items.forEach((it, i) => {
    const l = laneOf(it);
    const previous = last.get(l);
    if (previous !== undefined) links.push([previous, i, l]);
    last.set(l, i);
  });
  return (
    <div class="svg-scroll">
      <svg class="swimlanes" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`Timeline of ${items.length} records in ${lanes.length} lanes`}>
        {lanes.map((l, i) => (
          <g key={l}>
            <rect class={`lane ${i % 2 ? 'odd' : ''}`} x="0" y={24 + i * laneH} width={width} height={laneH} />
            <text class="lane-label" x="10" y={24 + i * laneH + laneH / 2 + 4}>
              {l.length > 22 ? `${l.slice(0, 21)}…` : l}
            </text>
          </g>
        ))}
        {links.map(([a, b, l]) => (
          <line key={`${a}-${b}`} class="lane-link" x1={x(a)} x2={x(b)} y1={y(l)} y2={y(l)} />
        ))}
        {items.map((it, i) => {
          const cx = x(i);
          const cy = y(laneOf(it));
          const label = `+${ms(it) - t0}ms`;
          if (it.kind === 'event') {
            const k = EVENT_TYPES[it.event.type]?.key ?? 'other';
            return (
              <a key={i} href={href('events', it.event.eventId)} aria-label={`${it.event.type} on shipment ${it.event.shipmentId}`}>
                <circle class={`dot f-${k}`} cx={cx} cy={cy} r="9" />
                <text class="dot-label" x={cx} y={16} text-anchor="middle">
                  {label}
                </text>
                <text class="dot-sub" x={cx} y={cy + 22} text-anchor="middle">
                  {EVENT_TYPES[it.event.type]?.label ?? it.event.type}
                </text>
              </a>
            );
          }
          if (it.kind === 'outcome') {
            const bad = it.outcome.status === 'Rejected';
            return (
              <g key={i}>
                <rect class={`diamond ${bad ? 'bad' : 'ok'}`} x={cx - 7} y={cy - 7} width="14" height="14" transform={`rotate(45 ${cx} ${cy})`} />
                <text class="dot-label" x={cx} y={16} text-anchor="middle">
                  {label}
                </text>
                <text class="dot-sub" x={cx} y={cy + 22} text-anchor="middle">
                  {bad ? `✕ ${it.outcome.commandType}` : it.outcome.commandType}
                </text>
              </g>
            );
          }
          return (
            <a key={i} href={href('accounts', it.transaction.accountId)} aria-label={`${it.transaction.kind} on account ${it.transaction.accountId}`}>
              <rect class={`square f-${statusKey('Shipped')}`} x={cx - 8} y={cy - 8} width="16" height="16" rx="3" />
              <text class="dot-label" x={cx} y={16} text-anchor="middle">
                {label}
              </text>
              <text class="dot-sub" x={cx} y={cy + 22} text-anchor="middle">
                {it.transaction.kind} {shortId(money(it.transaction.amountMinor, it.transaction.currency), 14)}
              </text>
            </a>
          );
        })}
      </svg>
    </div>
  );
}
