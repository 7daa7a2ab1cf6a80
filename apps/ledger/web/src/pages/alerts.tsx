import { useState } from 'preact/hooks';
import { ApiError, enc, post } from '../api';
import { markAcknowledged, useAlerts } from '../alerts-store';
import { StatusBadge } from '../components/badges';
import { ErrorBox, Time } from '../components/common';
import { ago } from '../format';
import { href } from '../router';
import { canAcknowledge, loadSession } from '../session';
import type { Alert } from '../types';

export function AlertsPage() {
  const { items, connected, fresh } = useAlerts();
  const open = items.filter((a) => !a.acknowledged).length;
  return (
    <div class="page">
      <div class="page-head">
        <h1>Alerts</h1>
        <p class={`live ${connected ? '' : 'off'}`}>
          <span class="pulse" aria-hidden="true" /> {connected ? 'Live: new alerts appear here within a second' : 'Reconnecting to the alert stream…'}
        </p>
      </div>
      <p class="summary-line">
        {items.length} alert{items.length === 1 ? '' : 's'} · {open} not acknowledged. A command the state machine forbids is refused, changes nothing, and shows up here; so does a fact a system of record reported that breaks a rule (recorded anyway).
      </p>
      {items.length === 0 ? <p class="empty">No alerts. Nobody tried a forbidden transition.</p> : null}
      <ul class="alerts" aria-live="polite" data-testid="alerts">
        {items.map((a) => (
          <AlertItem key={a.id} alert={a} fresh={fresh.includes(a.id)} />
        ))}
      </ul>
    </div>
  );
}

function AlertItem({ alert: a, fresh }: { alert: Alert; fresh: boolean }) {
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const session = loadSession();
  const ack = async () => {
    setBusy(true);
    try {
      markAcknowledged(await post<Alert>(`/alerts/${enc(a.id)}/ack`));
      setError(undefined);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class={`alert-item ${a.acknowledged ? 'acked' : 'open'} ${fresh ? 'fresh' : ''} ${a.violation ? 'kind-violation' : ''}`} data-alert-id={a.id} data-shipment={a.shipmentId} data-kind={a.kind}>
      <div class="alert-icon" aria-hidden="true">
        {a.acknowledged ? '✓' : '!'}
      </div>
      <div class="alert-body">
        {a.violation ? (
          <>
            <p class="alert-headline" data-testid="alert-violation">
              <span class="pill pill-bad">Rule violation</span> <strong>{a.violation.observedBy}</strong> <span class="muted">(in {a.violation.source}, reported by {a.initiatedBy})</span> did{' '}
              <strong>{a.violation.transition}</strong> on <a href={href('shipments', a.shipmentId)}>shipment {a.shipmentId}</a> from <StatusBadge status={a.violation.fromStatus} />
            </p>
            <p class="reason">
              <span class="pill pill-bad">{a.violation.code}</span> {a.violation.rule}
            </p>
            <p class="muted small">
              Recorded anyway ({a.violation.source} fact <span class="mono">{a.violation.sourceId}</span>); a supervisor can correct the status.
            </p>
          </>
        ) : (
          <>
            <p class="alert-headline">
              <strong>{a.initiatedBy}</strong> <span class="muted">({a.role})</span> tried <strong>{a.commandType}</strong> on{' '}
              <a href={href('shipments', a.shipmentId)}>shipment {a.shipmentId}</a>
              {a.rejection?.currentStatus ? (
                <>
                  {' '}
                  from <StatusBadge status={a.rejection.currentStatus} />
                </>
              ) : null}
            </p>
            {a.rejection ? (
              <p class="reason">
                <span class="pill pill-bad">{a.rejection.code}</span> {a.rejection.reason}
              </p>
            ) : null}
            {a.rejection?.allowedCommands?.length ? <p class="muted small">Allowed from there: {a.rejection.allowedCommands.join(', ')}</p> : null}
          </>
        )}
        <p class="muted small">
          {a.violation ? 'happened ' : ''}
          <Time ms={a.timestamp} iso={a.at} withDate />
          {a.violation && a.recordedAt ? (
            <>
              {' '}
              · recorded <Time ms={Date.parse(a.recordedAt)} iso={a.recordedAt} withDate /> ({ago(Date.parse(a.recordedAt))})
            </>
          ) : (
            <> ({ago(a.timestamp)})</>
          )} · <a href={href('traces', a.traceId)}>trace</a>
          {a.acknowledged ? ` · acknowledged by ${a.acknowledgedBy}${a.acknowledgedAt ? ` ${ago(Date.parse(a.acknowledgedAt))}` : ''}` : ''}
        </p>
        {error ? <ErrorBox error={error} what="acknowledging" /> : null}
      </div>
      <div class="alert-actions">
        {!a.acknowledged && session && canAcknowledge(session.role) ? (
          <button type="button" class="primary" onClick={ack} disabled={busy}>
            {busy ? 'Acknowledging…' : 'Acknowledge'}
          </button>
        ) : a.acknowledged ? (
          <span class="pill pill-ok">Acknowledged</span>
        ) : (
          <span class="muted small">Team leads and supervisors acknowledge</span>
        )}
      </div>
    </li>
  );
}
