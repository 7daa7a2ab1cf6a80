// The go-live story (docs/ARCHITECTURE.md §11), played on the running stack through the public
// HTTP APIs: the warehouse's old main system stays in control and its feed reports what happens
// there. Order 1345693 is created with three skus under one trace, picked, and packed at 15:22 in
// the old system; in the evening the team lead Walter Chin, in the old system, moves it back to
// PendingPicking. Waybill records that, flags it at once, and a supervisor compensates with a
// StatusCorrected and a reason.
//
//   node tools/demo/demo.mjs --story [--stack .data/stack.json] [--handler URL] [--ledger URL] [--id 1345693]

const SOURCE = 'legacy-wms';

/** The story's day: the latest UTC day whose evening (19:05) is already past, so no fact is in the future. */
export function storyDay(now = Date.now()) {
  const today = new Date(now);
  const day = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return now >= day + (19 * 60 + 30) * 60_000 ? day : day - 86_400_000;
}

const at = (day, hh, mm) => day + (hh * 60 + mm) * 60_000;
const clock = (ms) => new Date(ms).toISOString().slice(11, 16);

/** The facts the old system reports, in order: [who, what, when]. */
export function storyFacts(shipmentId, day) {
  const process = `order-flow-${shipmentId}`;
  const fact = (sourceId, observedBy, occurredAt, body) => ({ sourceId: `${shipmentId}-${sourceId}`, observedBy, occurredAt: new Date(occurredAt).toISOString(), source: SOURCE, process, ...body });
  return [
    fact('created', 'Olga Okafor', at(day, 14, 0), {
      kind: 'Created',
      order: {
        orderId: `ORD-${shipmentId}`,
        customerAccountId: 'ACC-1001',
        currency: 'EUR',
        lines: [
          { sku: 'SKU-MUG-01', quantity: 2, unitPriceMinor: 899 },
          { sku: 'SKU-TEE-M', quantity: 1, unitPriceMinor: 1999 },
          { sku: 'SKU-CAP-02', quantity: 1, unitPriceMinor: 1499 },
        ],
        destination: { name: 'Ada Lovelace', street: 'Dockstraat 12', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
      },
    }),
    fact('released', 'Walter Chin', at(day, 14, 20), { kind: 'StatusChanged', toStatus: 'PendingPicking' }),
    fact('pick-mug', 'Priya Natarajan', at(day, 14, 41), { kind: 'LinePicked', sku: 'SKU-MUG-01', quantity: 2 }),
    fact('pick-tee', 'Priya Natarajan', at(day, 14, 47), { kind: 'LinePicked', sku: 'SKU-TEE-M', quantity: 1 }),
    fact('pick-cap', 'Priya Natarajan', at(day, 14, 52), { kind: 'LinePicked', sku: 'SKU-CAP-02', quantity: 1 }),
    fact('picked', 'Priya Natarajan', at(day, 15, 1), { kind: 'StatusChanged', toStatus: 'Picked' }),
    fact('packed', 'Jonas Berg', at(day, 15, 22), { kind: 'Packed', packageCount: 1 }),
    fact('moved-back', 'Walter Chin', at(day, 19, 5), { kind: 'StatusChanged', toStatus: 'PendingPicking' }),
  ];
}

/**
 * Plays the story. `http(base, method, path, role, body)` is the demo's client (demo keys by
 * role). Returns what it did, and writes where to look on `out`.
 */
export async function runStory({ urls, http, shipmentId: wanted, now = Date.now(), out = process.stdout }) {
  if (!urls.ledger) throw new Error('the story needs the ledger: start the stack (npm start) or pass --ledger');
  const shipmentId = wanted ?? (await freeStoryId(urls, http));
  const day = storyDay(now);
  const say = (line) => out.write(`${line}\n`);
  say(`The go-live story, on shipment ${shipmentId} (business day ${new Date(day).toISOString().slice(0, 10)}, times UTC):`);

  const recorded = [];
  for (const fact of storyFacts(shipmentId, day)) {
    const res = await report(urls, http, shipmentId, fact);
    if (res.status !== 200) throw new Error(`the old system's ${fact.kind} (${fact.sourceId}) was answered ${res.status} ${res.body.error ?? ''} ${res.body.message ?? ''}`.trim());
    recorded.push({ fact, answer: res.body });
    const what = fact.kind === 'StatusChanged' ? `moved it to ${fact.toStatus}` : fact.kind === 'LinePicked' ? `picked ${fact.quantity} × ${fact.sku}` : fact.kind === 'Packed' ? `packed it (${fact.packageCount} parcel)` : 'created it with three skus';
    const flag = res.body.alert ? `  ⚠ ${res.body.violation?.transition}: recorded and flagged` : '';
    say(`  ${clock(Date.parse(fact.occurredAt))}  ${fact.observedBy.padEnd(16)} ${what} in the old system → v${res.body.version}${flag}`);
  }
  const violation = recorded[recorded.length - 1].answer;
  if (!violation.alert) throw new Error(`the move back to PendingPicking was not flagged (answer: ${JSON.stringify(violation)})`);

  const alert = await waitForAlert(urls, http, shipmentId, violation.commandId);
  say(`  the ledger showed the alert ${alert.latencyMs} ms after the feed was answered: ${violation.violation.rule}`);

  const correction = await http(urls.handler, 'POST', `/shipments/${encodeURIComponent(shipmentId)}/commands`, 'supervisor', {
    type: 'CorrectStatus',
    data: { toStatus: 'Packed', reason: 'Walter Chin moved it back in the old system by mistake: the parcel is packed at the dock' },
  });
  if (correction.status !== 200) throw new Error(`the supervisor's correction was answered ${correction.status} ${correction.body.error ?? ''} ${correction.body.message ?? ''}`.trim());
  say(`  now    sue.supervisor   StatusCorrected PendingPicking → Packed, with a reason → v${correction.body.version}`);
  const shown = await http(urls.ledger, 'GET', `/shipments/${encodeURIComponent(shipmentId)}?readToken=${encodeURIComponent(correction.body.readToken)}`, 'viewer');
  if (shown.status !== 200) throw new Error(`the ledger did not show ${shipmentId} after the correction: ${shown.status}`);

  const page = `${urls.ledger}/admin/#/shipments/${encodeURIComponent(shipmentId)}`;
  say('');
  say(`Open the ledger page and sign in with demo-supervisor-key:`);
  say(`  the shipment, the flagged row and its previous event:  ${page}`);
  say(`  the alert:                                             ${urls.ledger}/admin/#/alerts`);
  say(`  everything the order's process caused (one trace):     ${urls.ledger}/admin/#/traces/${encodeURIComponent(violation.traceId)}`);
  say(`  time travel: the shipment as of 15:30 business time (Packed), or what Waybill knew before the evening`);
  say('');
  return { shipmentId, traceId: violation.traceId, violation: violation.violation, alertLatencyMs: alert.latencyMs, correctionVersion: correction.body.version, recorded };
}

async function freeStoryId(urls, http) {
  for (let n = 0; n < 1000; n += 1) {
    const id = n === 0 ? '1345693' : `1345693-${n + 1}`;
    const res = await http(urls.ledger, 'GET', `/shipments/${encodeURIComponent(id)}`, 'viewer');
    if (res.status === 404) return id;
    if (res.status !== 200) throw new Error(`the ledger answered ${res.status} for shipment ${id}: ${res.body.message ?? res.body.error ?? ''}`.trim());
  }
  throw new Error('the story has been played 1000 times on this stack; pass --id');
}

async function report(urls, http, shipmentId, fact) {
  let res = await http(urls.handler, 'POST', `/shipments/${encodeURIComponent(shipmentId)}/observations`, 'integration', fact);
  for (let i = 0; res.status === 202 && res.body.commandId && i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const polled = await http(urls.handler, 'GET', `/commands/${encodeURIComponent(res.body.commandId)}`, 'integration');
    if (polled.status !== 202) res = polled;
  }
  return res;
}

/** Waits until the ledger's alerts show the violation; how long after the answer that took. */
async function waitForAlert(urls, http, shipmentId, commandId) {
  const started = Date.now();
  for (const deadline = started + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const res = await http(urls.ledger, 'GET', '/alerts', 'viewer');
    const items = res.body.items ?? res.body.alerts ?? [];
    if (items.some((a) => a.commandId === commandId || (a.aggregateId ?? a.shipmentId) === shipmentId)) return { latencyMs: Date.now() - started };
  }
  throw new Error(`the ledger showed no alert for ${shipmentId} within 15 s`);
}
