import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get, request, withQuery } from '../api';
import { EventBadge, LateBadge, StatusBadge, ViolationBadge } from '../components/badges';
import { ViolationDetail, Who } from '../components/observation';
import { Card, ErrorBox, Loading, Time } from '../components/common';
import { StateMachineDiagram } from '../components/state-machine';
import { isoToLocal, localToIso, money } from '../format';
import { useAsync, useInterval } from '../hooks';
import { stateMachine } from '../machine';
import { href, hrefWithQuery, navigate } from '../router';
import { canCorrect, loadSession } from '../session';
import type { FieldChange, LedgerEvent, Shipment, ShipmentAsOf, ShipmentState, StateMachine } from '../types';

/** Where the page travels to: business time (`asOf`), recorded time (`knownAt`), or both. */
interface Travel {
  asOf?: string;
  knownAt?: string;
}

interface Loaded {
  shipment: Shipment;
  events: LedgerEvent[];
  machine: StateMachine;
  at?: ShipmentAsOf | { notYet: 'created' | 'recorded' };
  changes?: FieldChange[];
}

async function load(id: string, travel: Travel, signal: AbortSignal): Promise<Loaded> {
  const [shipment, events, machine] = await Promise.all([
    get<Shipment>(`/shipments/${enc(id)}`, signal),
    get<{ items: LedgerEvent[] }>(`/shipments/${enc(id)}/events`, signal),
    stateMachine(),
  ]);
  let at: Loaded['at'];
  let changes: FieldChange[] | undefined;
  if (travel.asOf || travel.knownAt) {
    try {
      at = await get<ShipmentAsOf>(withQuery(`/shipments/${enc(id)}`, { asOf: travel.asOf, knownAt: travel.knownAt }), signal);
      // What changed from the instant shown to now (bookkeeping such as the status timeline left out).
      const now = new Date().toISOString();
      if (travel.asOf && travel.asOf <= now) {
        changes = (await get<{ changes: FieldChange[] }>(withQuery(`/shipments/${enc(id)}/diff`, { from: travel.asOf, to: now, knownAt: travel.knownAt }), signal)).changes;
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NOT_YET_CREATED') at = { notYet: 'created' };
      else if (err instanceof ApiError && err.code === 'NOT_YET_RECORDED') at = { notYet: 'recorded' };
      else throw err;
    }
  }
  return { shipment, events: events.items, machine, at, changes };
}

/** Observed facts recorded after a fact that happened later (version order = recording order). */
function lateVersions(events: readonly LedgerEvent[]): Set<number> {
  const late = new Set<number>();
  let running = -Infinity;
  for (const e of [...events].sort((a, b) => a.version - b.version)) {
    if (e.observation && e.timestamp < running) late.add(e.version);
    running = Math.max(running, e.timestamp);
  }
  return late;
}

/** Events on the business axis: by business time (late facts by their own), ties by version. */
function businessOrder(events: readonly LedgerEvent[], late: ReadonlySet<number>): LedgerEvent[] {
  let running = -Infinity;
  const placed = [...events]
    .sort((a, b) => a.version - b.version)
    .map((e) => {
      running = Math.max(running, e.timestamp);
      return { e, at: late.has(e.version) ? e.timestamp : running };
    });
  return placed.sort((a, b) => a.at - b.at || a.e.version - b.e.version).map((p) => p.e);
}

const fmt = (iso: string) => new Date(iso).toLocaleString();

export function ShipmentPage({ id, asOf, knownAt }: { id: string; asOf?: string; knownAt?: string }) {
  const { data, error, loading, reload } = useAsync((signal) => load(id, { asOf, knownAt }, signal), [id, asOf, knownAt]);
  // The current state follows new events while nobody is looking at the past.
  useInterval(() => {
    if (!asOf && !knownAt) reload();
  }, 4000);
  if (error && !data) return <ErrorBox error={error} what={`shipment ${id}`} />;
  if (!data) return loading ? <Loading what="Loading the shipment" /> : null;
  const { shipment: s, events, machine, changes } = data;
  const at = data.at;
  const notYet = at && 'notYet' in at ? at.notYet : undefined;
  const shown = at && !('notYet' in at) ? at : undefined;
  const shownVersion = at ? (shown?.version ?? 0) : s.version;
  const shownState: ShipmentState | undefined = at ? shown?.state : s.state;
  const shownStatus = shownState?.status ?? 'None';
  const inEffect = (e: LedgerEvent) => !at || (shown !== undefined && (e.version <= shown.inEffect.throughVersion || shown.inEffect.alsoVersions.includes(e.version)));
  const late = lateVersions(events);
  const pathEvents = businessOrder(events.filter(inEffect), late);
  const session = loadSession();
  const axes = [asOf ? `as of ${fmt(asOf)} (business time)` : '', knownAt ? `as Waybill knew it at ${fmt(knownAt)} (recorded time)` : ''].filter(Boolean).join(', ');

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

      <TimePicker id={id} events={events} late={late} asOf={asOf} knownAt={knownAt} />

      {at ? (
        <div class={`asof-banner ${notYet ? 'warn' : ''}`} role="status" data-testid="asof-banner">
          {notYet === 'created' ? (
            <>The shipment did not exist yet {axes}.</>
          ) : notYet === 'recorded' ? (
            <>Waybill had recorded nothing of this shipment yet {axes}.</>
          ) : (
            <>
              Showing the state <strong>{axes}</strong>: version {shownVersion}, status <span data-testid="asof-status"><StatusBadge status={shownStatus} /></span>
              {shown?.reordered ? ' (late facts placed where they happened)' : ''}. It is <StatusBadge status={s.status} /> (v{s.version}) now.
            </>
          )}
        </div>
      ) : null}

      <Card title="State machine" class="machine-card">
        <StateMachineDiagram machine={machine} events={pathEvents} current={shownStatus} />
      </Card>

      <div class="grid-2">
        <Card title={at ? `State ${asOf ? 'as of' : 'known at'} the instant (v${shownVersion})` : 'Current state'}>
          {shownState ? <StateView state={shownState} /> : <p class="empty">No state yet.</p>}
        </Card>
        <Card title={`History (${events.length} events, in the order recorded)`}>
          {s.archived ? (
            <p class="muted small" data-testid="archived">
              Closed for longer than the ledger's retention window: this history is read back from Kafka, and the event list and traces no longer show these events.
            </p>
          ) : null}
          <ol class="history" data-testid="history">
            {events.map((e) => (
              <li
                key={e.eventId}
                class={`${inEffect(e) ? '' : 'later'} ${e.observation?.violation ? 'violation' : ''}`}
                data-version={e.version}
                data-in-effect={inEffect(e) ? 'true' : 'false'}
                data-testid={e.observation?.violation ? 'violation-row' : undefined}
              >
                <a href={href('events', e.eventId)}>
                  <span class="num">v{e.version}</span> <EventBadge type={e.type} />
                </a>{' '}
                {e.observation?.violation ? <ViolationBadge /> : null} {late.has(e.version) ? <LateBadge recordedAt={e.recordedAt} /> : null}{' '}
                <span class="muted">
                  happened <Time ms={e.timestamp} iso={e.occurredAt} /> · recorded <Time ms={Date.parse(e.recordedAt)} iso={e.recordedAt} /> · <Who e={e} />
                </span>
                {e.type === 'StatusCorrected' && typeof e.data?.reason === 'string' ? <div class="reason">“{e.data.reason}”</div> : null}
                <ViolationDetail e={e} />
                {inEffect(e) ? null : <span class="sr-only"> (not in effect at the instant shown)</span>}
              </li>
            ))}
          </ol>
        </Card>
      </div>

      {changes ? (
        <Card title={knownAt ? 'What changed from that instant to now, as Waybill knew it then' : 'What changed from that instant to now'}>
          {changes.length === 0 ? (
            <p class="empty">Nothing changed since.</p>
          ) : (
            <table class="kv diff" data-testid="state-diff">
              <thead>
                <tr>
                  <th scope="col">field</th>
                  <th scope="col">then</th>
                  <th scope="col">now</th>
                </tr>
              </thead>
              <tbody>
                {changes.map((c) => (
                  <tr key={c.path}>
                    <th scope="row" class="mono">
                      {c.path}
                    </th>
                    <td class="mono">{JSON.stringify(c.before)}</td>
                    <td class="mono">{JSON.stringify(c.after)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      ) : null}

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

/**
 * Time travel on both axes: a slider along business time (events in the order they happened; late
 * facts where they happened) or recorded time (the order Waybill recorded them), and an instant on
 * each axis. Moving along one axis keeps the other's instant, so both can be combined.
 */
function TimePicker({ id, events, late, asOf, knownAt }: { id: string; events: LedgerEvent[]; late: ReadonlySet<number>; asOf?: string; knownAt?: string }) {
  const [axis, setAxis] = useState<'business' | 'recorded'>(knownAt && !asOf ? 'recorded' : 'business');
  const [pickedAsOf, setPickedAsOf] = useState(isoToLocal(asOf));
  const [pickedKnownAt, setPickedKnownAt] = useState(isoToLocal(knownAt));
  // The instants shown follow the URL (a slider move, a shared link, Now).
  useEffect(() => {
    setPickedAsOf(isoToLocal(asOf));
    setPickedKnownAt(isoToLocal(knownAt));
  }, [asOf, knownAt]);
  const go = (travel: Travel) => navigate(hrefWithQuery(href('shipments', id), { asOf: travel.asOf, knownAt: travel.knownAt }));
  const stops = axis === 'business' ? businessOrder(events, late) : [...events].sort((a, b) => a.version - b.version);
  const instantOf = (e: LedgerEvent) => (axis === 'business' ? e.occurredAt : e.recordedAt);
  const current = axis === 'business' ? asOf : knownAt;
  const n = stops.length;
  // The slider sits on the last stop at or before the instant travelled to on this axis (n = now).
  const value = current ? Math.max(1, stops.filter((e) => instantOf(e) <= current).length) : n;
  return (
    <section class="card timepicker" aria-label="State at an instant, on either time axis" data-testid="time-travel">
      <fieldset class="axis">
        <legend>Travel along</legend>
        <label>
          <input type="radio" name="axis" value="business" checked={axis === 'business'} onChange={() => setAxis('business')} data-testid="axis-business" /> Business time
          <span class="muted small"> (when it happened)</span>
        </label>
        <label>
          <input type="radio" name="axis" value="recorded" checked={axis === 'recorded'} onChange={() => setAxis('recorded')} data-testid="axis-recorded" /> Recorded time
          <span class="muted small"> (when Waybill knew it)</span>
        </label>
      </fieldset>
      <label class="slider">
        <span>
          Travel in time: <strong data-testid="time-travel-position">{asOf || knownAt ? [asOf ? `as of ${fmt(asOf)}` : '', knownAt ? `known at ${fmt(knownAt)}` : ''].filter(Boolean).join(', ') : 'now'}</strong>
        </span>
        <input
          type="range"
          min={1}
          max={Math.max(1, n)}
          step={1}
          value={value}
          data-testid="time-slider"
          aria-label={axis === 'business' ? 'Business time: events in the order they happened' : 'Recorded time: events in the order Waybill recorded them'}
          aria-valuetext={value >= 1 && stops[value - 1] ? `v${stops[value - 1].version} ${stops[value - 1].type}, ${axis === 'business' ? 'happened' : 'recorded'} ${fmt(instantOf(stops[value - 1]))}` : 'now'}
          onChange={(e) => {
            const k = Number(e.currentTarget.value);
            const instant = k >= n ? undefined : stops[k - 1] && instantOf(stops[k - 1]);
            go(axis === 'business' ? { asOf: instant, knownAt } : { asOf, knownAt: instant });
          }}
        />
      </label>
      <form
        class="picker"
        onSubmit={(e) => {
          e.preventDefault();
          go({ asOf: localToIso(pickedAsOf), knownAt: localToIso(pickedKnownAt) });
        }}
      >
        <label>
          Business time (as of)
          <input type="datetime-local" step="1" name="asOf" value={pickedAsOf} onInput={(e) => setPickedAsOf(e.currentTarget.value)} data-testid="asof-input" />
        </label>
        <label>
          Recorded time (known at)
          <input type="datetime-local" step="1" name="knownAt" value={pickedKnownAt} onInput={(e) => setPickedKnownAt(e.currentTarget.value)} data-testid="knownat-input" />
        </label>
        <button type="submit" data-testid="time-travel-show">
          Show
        </button>
        <button type="button" disabled={!asOf && !knownAt} onClick={() => go({})} data-testid="time-travel-now">
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
