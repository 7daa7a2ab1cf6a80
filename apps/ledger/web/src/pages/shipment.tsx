import { useState } from 'preact/hooks';
import { ApiError, enc, get, request } from '../api';
import { EventBadge, StatusBadge } from '../components/badges';
import { Card, ErrorBox, Loading, Time } from '../components/common';
import { StateMachineDiagram } from '../components/state-machine';
import { isoToLocal, localToIso, money } from '../format';
import { useAsync, useInterval } from '../hooks';
import { stateMachine } from '../machine';
import { href, hrefWithQuery, navigate } from '../router';
import { canCorrect, loadSession } from '../session';
import type { LedgerEvent, Shipment, ShipmentAsOf, ShipmentState, StateMachine } from '../types';

interface Loaded {
  shipment: Shipment;
  events: LedgerEvent[];
  machine: StateMachine;
  asOf?: ShipmentAsOf | { notYet: string };
}

async function load(id: string, asOf: string | undefined, signal: AbortSignal): Promise<Loaded> {
  const [shipment, events, machine] = await Promise.all([
    get<Shipment>(`/shipments/${enc(id)}`, signal),
    get<{ items: LedgerEvent[] }>(`/shipments/${enc(id)}/events`, signal),
    stateMachine(),
  ]);
  let at: Loaded['asOf'];
  if (asOf) {
    try {
      at = await get<ShipmentAsOf>(`/shipments/${enc(id)}?asOf=${enc(asOf)}`, signal);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NOT_YET_CREATED') at = { notYet: asOf };
      else throw err;
    }
  }
  return { shipment, events: events.items, machine, asOf: at };
}

export function ShipmentPage({ id, asOf }: { id: string; asOf?: string }) {
  const { data, error, loading, reload } = useAsync((signal) => load(id, asOf, signal), [id, asOf]);
  // The current state follows new events while nobody is looking at the past.
  useInterval(() => {
    if (!asOf) reload();
  }, 4000);
  if (error && !data) return <ErrorBox error={error} what={`shipment ${id}`} />;
  if (!data) return loading ? <Loading what="Loading the shipment" /> : null;
  const { shipment: s, events, machine } = data;
  const at = data.asOf;
  const notYet = at && 'notYet' in at;
  // The instant the shown state is for: the one it was loaded for (the URL's may already be another).
  const shownAt = at && new Date('notYet' in at ? at.notYet : at.asOf).toLocaleString();
  const shownVersion = at ? (notYet ? 0 : (at as ShipmentAsOf).version) : s.version;
  const shownState: ShipmentState | undefined = at ? (notYet ? undefined : (at as ShipmentAsOf).state) : s.state;
  const shownStatus = shownState?.status ?? 'None';
  const pathEvents = events.filter((e) => e.version <= shownVersion);
  const session = loadSession();

  return (
    <div class="page">
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href="#/shipments">Shipments</a> <span aria-hidden="true">›</span> <span>{s.shipmentId}</span>
      </nav>
      <div class="page-head">
        <h1>
          Shipment {s.shipmentId} <StatusBadge status={s.status} />
        </h1>
        <p class="muted">
          Order <strong>{s.orderId}</strong> · account <a href={href('accounts', s.customerAccountId)}>{s.customerAccountId}</a> · {money(s.totalMinor, s.currency)} · version {s.version} · last change{' '}
          <Time ms={Date.parse(s.updatedAt)} iso={s.updatedAt} withDate />
        </p>
      </div>

      <TimePicker id={id} events={events} asOf={asOf} shownVersion={shownVersion} />

      {at ? (
        <div class={`asof-banner ${notYet ? 'warn' : ''}`} role="status" data-testid="asof-banner">
          {notYet ? (
            <>The shipment did not exist yet at {shownAt}.</>
          ) : (
            <>
              Showing the state <strong>as of {shownAt}</strong>: version {shownVersion}, status <StatusBadge status={shownStatus} />. It is{' '}
              <StatusBadge status={s.status} /> (v{s.version}) now.
            </>
          )}
        </div>
      ) : null}

      <Card title="State machine" class="machine-card">
        <StateMachineDiagram machine={machine} events={pathEvents} current={shownStatus} />
      </Card>

      <div class="grid-2">
        <Card title={at ? `State as of v${shownVersion}` : 'Current state'}>
          {shownState ? <StateView state={shownState} /> : <p class="empty">No state yet.</p>}
        </Card>
        <Card title={`History (${events.length} events)`}>
          <ol class="history" data-testid="history">
            {events.map((e) => (
              <li key={e.eventId} class={e.version > shownVersion ? 'later' : ''}>
                <a href={href('events', e.eventId)}>
                  <span class="num">v{e.version}</span> <EventBadge type={e.type} />
                </a>{' '}
                <span class="muted">
                  <Time ms={e.timestamp} iso={e.at} /> · {e.initiatedBy}
                </span>
                {e.type === 'StatusCorrected' && typeof e.data?.reason === 'string' ? <div class="reason">“{e.data.reason}”</div> : null}
                {e.version > shownVersion ? <span class="sr-only"> (after the instant shown)</span> : null}
              </li>
            ))}
          </ol>
        </Card>
      </div>

      <Card title="Commands">
        <p class="muted">
          Allowed now: {s.allowedCommands.length ? s.allowedCommands.join(', ') : 'none'}. Commands are sent to shipment-handler; a forbidden one raises an alert.
        </p>
        {session && canCorrect(session.role) ? (
          <CorrectStatusForm shipment={s} machine={machine} onDone={reload} />
        ) : (
          <p class="muted" data-testid="no-correct">
            Only supervisors can correct a status.
          </p>
        )}
      </Card>
    </div>
  );
}

function TimePicker({ id, events, asOf, shownVersion }: { id: string; events: LedgerEvent[]; asOf?: string; shownVersion: number }) {
  const [picked, setPicked] = useState(isoToLocal(asOf));
  const n = events.length;
  const go = (iso: string | undefined) => navigate(hrefWithQuery(href('shipments', id), { asOf: iso }));
  const value = asOf ? Math.max(0, shownVersion) : n;
  return (
    <section class="card timepicker" aria-label="State as of an instant">
      <label class="slider">
        <span>
          Travel in time: <strong>{asOf ? `as of v${shownVersion}` : 'now'}</strong>
        </span>
        <input
          type="range"
          min={1}
          max={Math.max(1, n)}
          step={1}
          value={value}
          aria-valuetext={value >= 1 && events[value - 1] ? `version ${value}, ${events[value - 1].type}` : 'now'}
          onChange={(e) => {
            const v = Number(e.currentTarget.value);
            go(v >= n ? undefined : events[v - 1]?.at);
          }}
        />
      </label>
      <form
        class="picker"
        onSubmit={(e) => {
          e.preventDefault();
          go(localToIso(picked));
        }}
      >
        <label>
          Any instant
          <input type="datetime-local" step="1" name="asOf" value={picked} onInput={(e) => setPicked(e.currentTarget.value)} />
        </label>
        <button type="submit">Show</button>
        <button type="button" disabled={!asOf} onClick={() => go(undefined)}>
          Now
        </button>
      </form>
    </section>
  );
}

function StateView({ state }: { state: ShipmentState }) {
  return (
    <div class="state">
      <table class="kv">
        <tbody>
          <tr>
            <th scope="row">status</th>
            <td>
              <StatusBadge status={state.status} />
            </td>
          </tr>
          <tr>
            <th scope="row">order</th>
            <td>{state.orderId}</td>
          </tr>
          <tr>
            <th scope="row">total</th>
            <td>{money(state.totalMinor, state.currency)}</td>
          </tr>
          <tr>
            <th scope="row">ship to</th>
            <td>
              {state.destination.name}, {state.destination.street}, {state.destination.postalCode} {state.destination.city}, {state.destination.country}
            </td>
          </tr>
          {state.packageCount !== undefined ? (
            <tr>
              <th scope="row">packages</th>
              <td>{state.packageCount}</td>
            </tr>
          ) : null}
          {state.carrier ? (
            <tr>
              <th scope="row">carrier</th>
              <td>
                {state.carrier} · {state.trackingNumber}
              </td>
            </tr>
          ) : null}
          {state.receivedBy ? (
            <tr>
              <th scope="row">received by</th>
              <td>{state.receivedBy}</td>
            </tr>
          ) : null}
          {state.cancelReason ? (
            <tr>
              <th scope="row">cancelled because</th>
              <td>{state.cancelReason}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <table class="lines">
        <thead>
          <tr>
            <th scope="col">SKU</th>
            <th scope="col">Picked</th>
            <th scope="col" class="num">
              Unit price
            </th>
          </tr>
        </thead>
        <tbody>
          {state.lines.map((l) => (
            <tr key={l.sku}>
              <td class="mono">{l.sku}</td>
              <td>
                <meter min={0} max={l.ordered} value={l.picked} aria-label={`${l.picked} of ${l.ordered} picked`} /> {l.picked} / {l.ordered}
              </td>
              <td class="num">{money(l.unitPriceMinor, state.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface CommandAnswer {
  status: string;
  version: number;
  /** `<shipmentId>@<version>`: what a ledger read needs to show this write. */
  readToken?: string;
}

function CorrectStatusForm({ shipment, machine, onDone }: { shipment: Shipment; machine: StateMachine; onDone: () => void }) {
  const [toStatus, setToStatus] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const targets = machine.statuses.filter((st) => st !== shipment.status);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!toStatus || !reason.trim()) {
      setResult({ ok: false, text: 'Choose a target status and give a reason.' });
      return;
    }
    setBusy(true);
    setResult(undefined);
    try {
      const answer = await request<CommandAnswer>('POST', `/admin/api/shipments/${enc(shipment.shipmentId)}/correct-status`, {
        body: { toStatus, reason: reason.trim() },
      });
      // Read our own write: wait until the ledger holds the corrected version before reloading.
      if (answer.readToken) {
        await get(`/shipments/${enc(shipment.shipmentId)}?readToken=${enc(answer.readToken)}`).catch(() => undefined);
      }
      setResult({ ok: true, text: `Corrected to ${toStatus} (version ${answer.version}).` });
      setReason('');
      setToStatus('');
      onDone();
    } catch (err) {
      const text = err instanceof ApiError ? `${err.status} ${err.code}: ${err.message}` : `Could not send: ${(err as Error).message}`;
      setResult({ ok: false, text });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="correct" onSubmit={submit} aria-label="Correct status" data-testid="correct-form">
      <h3>Correct status</h3>
      <p class="muted">Sends CorrectStatus: the compensating StatusCorrected event. {machine.correction.rules}.</p>
      <div class="correct-fields">
        <label>
          Target status
          <select name="toStatus" required value={toStatus} onChange={(e) => setToStatus(e.currentTarget.value)}>
            <option value="">Choose…</option>
            {targets.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Reason (required)
          <input name="reason" required maxLength={500} value={reason} placeholder="e.g. one box was missing at the dock" onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Sending…' : 'Correct status'}
        </button>
      </div>
      {result ? (
        <p class={result.ok ? 'ok-msg' : 'error'} role={result.ok ? 'status' : 'alert'} data-testid="correct-result">
          {result.text}
        </p>
      ) : null}
    </form>
  );
}
