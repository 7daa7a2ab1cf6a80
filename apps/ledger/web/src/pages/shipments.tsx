import { useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { StatusBadge, statusKey } from '../components/badges';
import { Card, ErrorBox, Loading, Time } from '../components/common';
import { Pager, useCursorPages } from '../components/pager';
import { money } from '../format';
import { useAsync, useInterval } from '../hooks';
import { href, hrefWithQuery, navigate, type Route } from '../router';
import type { Page, ShipmentSummary } from '../types';

interface Counts {
  counts: Record<string, number>;
  total: number;
}

export function ShipmentsPage({ route }: { route: Route }) {
  const status = route.query.get('status') ?? undefined;
  const q = route.query.get('q') ?? undefined;
  const [text, setText] = useState(q ?? '');
  const pages = useCursorPages();
  const { cursor } = pages;
  const counts = useAsync((signal) => get<Counts>('/stats/status-counts', signal), []);
  useInterval(counts.reload, 3000);
  const list = useAsync((signal) => get<Page<ShipmentSummary>>(withQuery('/shipments', { status, q, cursor, limit: 50 }), signal), [status, q, cursor]);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Shipments</h1>
      </div>
      {counts.data ? (
        <nav class="counts" aria-label="Shipments by status">
          <a class={`count ${!status ? 'active' : ''}`} href={hrefWithQuery('#/shipments', { q })}>
            <strong>{counts.data.total}</strong> all
          </a>
          {Object.entries(counts.data.counts).map(([s, n]) => (
            <a key={s} class={`count s-${statusKey(s)} ${status === s ? 'active' : ''}`} href={hrefWithQuery('#/shipments', { status: s, q })} aria-current={status === s ? 'true' : undefined}>
              <strong>{n}</strong> <StatusBadge status={s} />
            </a>
          ))}
        </nav>
      ) : null}
      <Card>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            pages.reset();
            navigate(hrefWithQuery('#/shipments', { status, q: text.trim() }));
          }}
        >
          <label>
            Shipment or order id contains
            <input type="search" name="q" value={text} onInput={(e) => setText(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary">
            Search
          </button>
        </form>
        {list.error ? <ErrorBox error={list.error} /> : null}
        {!list.data ? (
          <Loading />
        ) : list.data.items.length === 0 ? (
          <p class="empty">No shipments.</p>
        ) : (
          <div class="table-wrap">
            <table class="shipments">
              <thead>
                <tr>
                  <th scope="col">Shipment</th>
                  <th scope="col">Order</th>
                  <th scope="col">Status</th>
                  <th scope="col">Account</th>
                  <th scope="col" class="num">
                    Total
                  </th>
                  <th scope="col">Last change</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((s) => (
                  <tr key={s.shipmentId}>
                    <td>
                      <a href={href('shipments', s.shipmentId)}>{s.shipmentId}</a>
                    </td>
                    <td>{s.orderId}</td>
                    <td>
                      <StatusBadge status={s.status} />
                    </td>
                    <td>
                      <a href={href('accounts', s.customerAccountId)}>{s.customerAccountId}</a>
                    </td>
                    <td class="num">{money(s.totalMinor, s.currency)}</td>
                    <td>
                      <Time ms={Date.parse(s.updatedAt)} iso={s.updatedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pages={pages} nextCursor={list.data?.nextCursor} backLabel="← Previous" onLabel="Next →" />
      </Card>
    </div>
  );
}
