import { useState } from 'preact/hooks';
import { enc, get, withQuery } from '../api';
import { EventBadge } from '../components/badges';
import { Card, ErrorBox, Loading, Time } from '../components/common';
import { Pager, useCursorPages } from '../components/pager';
import { money } from '../format';
import { useAsync } from '../hooks';
import { href, navigate } from '../router';
import type { Account, Page, ShipmentSummary, Transaction } from '../types';

export function AccountsIndex() {
  const [id, setId] = useState('');
  const seen = useAsync(async (signal) => {
    const page = await get<Page<ShipmentSummary>>('/shipments?limit=200', signal);
    return [...new Set(page.items.map((s) => s.customerAccountId))].sort();
  }, []);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Accounts</h1>
      </div>
      <Card>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (id.trim()) navigate(href('accounts', id.trim()));
          }}
        >
          <label>
            Account id
            <input name="account" value={id} placeholder="e.g. ACC-42" onInput={(e) => setId(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary">
            Open
          </button>
        </form>
        {seen.data?.length ? (
          <>
            <h3>Customer accounts on recent shipments</h3>
            <ul class="chips">
              {seen.data.map((a) => (
                <li key={a}>
                  <a class="chip" href={href('accounts', a)}>
                    {a}
                  </a>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </Card>
    </div>
  );
}

export function AccountPage({ id }: { id: string }) {
  const pages = useCursorPages();
  const { cursor } = pages;
  const account = useAsync((signal) => get<Account>(`/accounts/${enc(id)}`, signal), [id]);
  const txs = useAsync(
    (signal) => get<Page<Transaction>>(withQuery(`/accounts/${enc(id)}/transactions`, { cursor, limit: 25 }), signal),
    [id, cursor],
  );
  if (account.error) return <ErrorBox error={account.error} what={`account ${id}`} />;
  if (!account.data) return <Loading what="Loading the account" />;
  const a = account.data;
  return (
    <div class="page">
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href="#/accounts">Accounts</a> <span aria-hidden="true">›</span> <span>{a.accountId}</span>
      </nav>
      <div class="page-head">
        <h1>Account {a.accountId}</h1>
      </div>
      <div class="balance-row">
        <div class={`balance ${a.balanceMinor > 0 ? 'owes' : 'clear'}`} data-testid="balance">
          <span class="muted">Balance (what the customer owes)</span>
          <strong>{money(a.balanceMinor, a.currency)}</strong>
        </div>
        <div class="balance-meta muted">
          {a.version} transactions · first <Time ms={Date.parse(a.firstTransactionAt)} iso={a.firstTransactionAt} withDate /> · last{' '}
          <Time ms={Date.parse(a.lastTransactionAt)} iso={a.lastTransactionAt} withDate />
        </div>
      </div>
      <Card title="Transactions, newest first">
        {txs.error ? <ErrorBox error={txs.error} /> : null}
        {!txs.data ? (
          <Loading />
        ) : (
          <div class="table-wrap">
            <table class="txs" data-testid="transactions">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Kind</th>
                  <th scope="col" class="num">
                    Amount
                  </th>
                  <th scope="col">Caused by</th>
                  <th scope="col">Reason</th>
                  <th scope="col">By</th>
                </tr>
              </thead>
              <tbody>
                {txs.data.items.map((t) => (
                  <tr key={t.transactionId}>
                    <td>
                      <Time ms={t.timestamp} iso={t.at} withDate />
                    </td>
                    <td>
                      <span class={`pill kind-${t.kind}`}>{t.kind}</span>
                    </td>
                    <td class={`num ${t.amountMinor < 0 ? 'credit' : 'debit'}`}>{money(t.amountMinor, t.currency)}</td>
                    <td>
                      {t.sourceEventId ? (
                        <a href={href('events', t.sourceEventId)} class="cause">
                          {t.cause ? <EventBadge type={t.cause.type} /> : 'event'} {t.shipmentId ? `shipment ${t.shipmentId}` : ''}
                          {t.cause ? ` v${t.cause.version}` : ''}
                        </a>
                      ) : t.shipmentId ? (
                        <a href={href('shipments', t.shipmentId)}>shipment {t.shipmentId}</a>
                      ) : (
                        <span class="muted">manual</span>
                      )}
                    </td>
                    <td>{t.reason ?? <span class="muted">—</span>}</td>
                    <td>
                      {t.initiatedBy} <a href={href('traces', t.traceId)} class="small">trace</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pages={pages} nextCursor={txs.data?.nextCursor} backLabel="← Newer" onLabel="Older →" />
      </Card>
    </div>
  );
}
