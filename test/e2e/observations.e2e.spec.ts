import type { CommandOutcome, DecodedRecord, Observation, ShipmentEventRecord } from '@waybill/contracts';
import { deadLetterTopic } from '@waybill/contracts';
import { call, pipeline, type Pipeline } from '../support/pipeline';

// A system of record reports what happened (docs/ARCHITECTURE.md §11): over the webhook, and on
// shipment.observations directly. Facts are recorded, never refused; a forbidden one is flagged.

type EventValue = ShipmentEventRecord['value'] & { recordName: string };
const eventsOf = (records: DecodedRecord[], shipmentId: string): EventValue[] =>
  records.flatMap((r) => (r.recordName !== 'CommandOutcome' && (r.value as EventValue).aggregateId === shipmentId ? [{ ...(r.value as EventValue), recordName: r.recordName }] : []));
const outcomesOf = (records: DecodedRecord[], shipmentId: string): CommandOutcome[] =>
  records.flatMap((r) => (r.recordName === 'CommandOutcome' && r.value.aggregateId === shipmentId ? [r.value] : []));

const at = (hhmm: string) => `2026-12-01T${hhmm}:00Z`;
const order = {
  orderId: 'ORD-1345693',
  customerAccountId: 'ACC-7',
  currency: 'EUR',
  lines: [
    { sku: 'SKU-A', quantity: 1, unitPriceMinor: 1000 },
    { sku: 'SKU-B', quantity: 1, unitPriceMinor: 2000 },
    { sku: 'SKU-C', quantity: 1, unitPriceMinor: 3000 },
  ],
  destination: { name: 'Ada Lovelace', street: 'Main 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
};

describe('observations from a system of record, end to end', () => {
  let p: Pipeline;
  let handler: Awaited<ReturnType<Pipeline['start']>>;

  beforeAll(async () => {
    p = await pipeline('observations');
    await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' });
  });
  afterAll(() => p?.close());

  const report = (shipmentId: string, body: Record<string, unknown>, role = 'integration') =>
    call(handler, 'POST', `/shipments/${shipmentId}/observations`, { role, body: { source: 'legacy-wms', process: `order-${shipmentId}`, ...body } });

  it('records the old system moving a packed order back, flags it at once with who, what and where, and a supervisor compensates', async () => {
    const id = '1345693';
    const steps: Array<Record<string, unknown>> = [
      { sourceId: 'wms-1', observedBy: 'Olga Order', kind: 'Created', order, occurredAt: at('14:00') },
      { sourceId: 'wms-2', observedBy: 'Paul Picker', kind: 'StatusChanged', toStatus: 'PendingPicking', occurredAt: at('14:30') },
      ...['SKU-A', 'SKU-B', 'SKU-C'].map((sku, i) => ({ sourceId: `wms-3${i}`, observedBy: 'Paul Picker', kind: 'LinePicked', sku, quantity: 1, occurredAt: at(`14:4${i}`) })),
      { sourceId: 'wms-4', observedBy: 'Paul Picker', kind: 'StatusChanged', toStatus: 'Picked', occurredAt: at('15:00') },
      { sourceId: 'wms-5', observedBy: 'Pia Packer', kind: 'Packed', packageCount: 2, occurredAt: at('15:22') },
    ];
    for (const step of steps) {
      const res = await report(id, step);
      expect([res.status, res.body.status, res.body.alert]).toEqual([200, 'recorded', false]);
    }
    const back = await report(id, { sourceId: 'wms-6', observedBy: 'Walter Chin', kind: 'StatusChanged', toStatus: 'PendingPicking', occurredAt: at('19:05'), initiatedBy: 'spoofed' });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({
      status: 'recorded',
      version: 8,
      alert: true,
      violation: { code: 'INVALID_TRANSITION', fromStatus: 'Packed', transition: 'Packed → PendingPicking', source: 'legacy-wms', sourceId: 'wms-6', observedBy: 'Walter Chin' },
    });

    const events = eventsOf(await p.readTopic('shipmentEvents', 8), id);
    expect(events.map((e) => e.recordName)).toEqual(['ShipmentCreated', 'StatusObserved', 'ItemPicked', 'ItemPicked', 'ItemPicked', 'StatusObserved', 'ShipmentPacked', 'StatusObserved']);
    // One source process, one trace; the integration reported it, the person in the source did it.
    expect(new Set(events.map((e) => e.traceId)).size).toBe(1);
    expect(new Set(events.map((e) => e.initiatedBy))).toEqual(new Set(['legacy-wms-feed']));
    const last = events[7];
    expect(last).toMatchObject({ version: 8, timestamp: Date.parse(at('19:05')), observation: { source: 'legacy-wms', sourceId: 'wms-6', observedBy: 'Walter Chin' } });
    expect(last.observation?.violation?.rule).toMatch(/no transition from Packed to PendingPicking/);
    expect(events[6]).toMatchObject({ timestamp: Date.parse(at('15:22')), observation: { observedBy: 'Pia Packer', violation: null } });

    const correction = await call(handler, 'POST', `/shipments/${id}/commands`, { role: 'supervisor', body: { type: 'CorrectStatus', data: { toStatus: 'Packed', reason: 'moved back by mistake in the old system' } } });
    expect([correction.status, correction.body.version]).toEqual([200, 9]);
    const corrected = eventsOf(await p.readTopic('shipmentEvents', 9), id).find((e) => e.recordName === 'StatusCorrected');
    expect(corrected?.data).toMatchObject({ fromStatus: 'PendingPicking', toStatus: 'Packed', correctedBy: 'sue.supervisor' });
  });

  it('records a fact once per (source, sourceId): a webhook retried later gets the first answer and no new event', async () => {
    const id = 'OBS-DEDUPE';
    const fact = { sourceId: 'retry-1', observedBy: 'Olga Order', kind: 'Created', order, occurredAt: at('09:00') };
    const first = await report(id, fact);
    const again = await report(id, fact);
    expect(first.body).toMatchObject({ status: 'recorded', version: 1 });
    expect(again.body).toMatchObject({ status: 'recorded', version: 1, commandId: first.body.commandId, eventIds: first.body.eventIds });
    const later = await report(id, { ...fact, sourceId: 'retry-2', kind: 'StatusChanged', toStatus: 'PendingPicking', order: undefined });
    expect(later.body.version).toBe(2);
    expect(await report(id, fact).then((r) => r.body.version)).toBe(1);
    expect(eventsOf(await p.readTopic('shipmentEvents', 2), id)).toHaveLength(2);
  });

  it('starts a shipment it never saw: the source created it elsewhere', async () => {
    const res = await report('OBS-UNSEEN', { sourceId: 'u-1', observedBy: 'Pia Packer', kind: 'StatusChanged', toStatus: 'Packed', occurredAt: at('10:00') });
    expect(res.body).toMatchObject({ status: 'recorded', version: 1, alert: false, violation: null });
  });

  it('answers a malformed fact with 400 naming every field, and refuses keys of other roles', async () => {
    const bad = await report('OBS-BAD', { sourceId: '', observedBy: 'Walter Chin', kind: 'StatusChanged', toStatus: 'Teleported', occurredAt: 'yesterday', reportedBy: 'me' });
    expect(bad.status).toBe(400);
    expect(bad.body.fieldErrors.map((e: { field: string }) => e.field).sort()).toEqual(['reportedBy']);
    const bad2 = await report('OBS-BAD', { sourceId: '', observedBy: 'Walter Chin', kind: 'StatusChanged', toStatus: 'Teleported', occurredAt: 'yesterday' });
    expect(bad2.status).toBe(400);
    expect(bad2.body.fieldErrors.map((e: { field: string }) => e.field).sort()).toEqual(['occurredAt', 'sourceId', 'toStatus']);
    expect(JSON.stringify(bad2.body)).not.toMatch(/\/work|\.ts:|at Object/);
    const byLead = await report('OBS-BAD', { sourceId: 'x', observedBy: 'Tom', kind: 'StatusChanged', toStatus: 'Packed', occurredAt: at('10:00') }, 'team-lead');
    expect(byLead.status).toBe(403);
    expect(eventsOf(await p.readTopic('shipmentEvents', 1), 'OBS-BAD')).toHaveLength(0);
  });

  it('on the topic: dead-letters a fact without a source id or with a status that does not exist, with its reason, and records what follows', async () => {
    const observation = (sourceId: string, toStatus: string): Observation => ({
      shipmentId: 'OBS-TOPIC', source: 'legacy-wms', sourceId, process: null, observedBy: 'Kafka Feed', kind: 'StatusChanged', toStatus,
      sku: null, quantity: null, packageCount: null, carrier: null, trackingNumber: null, receivedBy: null, reason: null, order: null,
      occurredAt: Date.parse(at('11:00')), reportedBy: 'legacy-wms-kafka',
    });
    const producer = p.env.kafka.producer();
    await producer.connect();
    const encoded = async (o: Observation) => ({ key: o.shipmentId, value: await p.serde.encode('shipment.observations', 'Observation', o) });
    await producer.send({ topic: p.topics.shipmentObservations, messages: [await encoded(observation('', 'Packed')), await encoded(observation('t-2', 'Teleported')), await encoded(observation('t-3', 'Packed'))] });
    await producer.disconnect();

    const outcomes = outcomesOf(await p.readTopic('shipmentOutcomes', 1, 30_000), 'OBS-TOPIC');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ status: 'Accepted', version: 1, initiatedBy: 'legacy-wms-kafka', commandType: 'RecordObservation' });

    const dlq = p.env.kafka.consumer({ groupId: p.env.uniqueName('dlq-reader') });
    const letters: Array<{ error: string; group: string }> = [];
    await dlq.connect();
    await dlq.subscribe({ topic: deadLetterTopic(p.topics.shipmentObservations), fromBeginning: true });
    await dlq.run({ eachMessage: async ({ message }) => void letters.push({ error: String(message.headers?.['x-error']), group: String(message.headers?.['x-consumer-group']) }) });
    const deadline = Date.now() + 20_000;
    while (letters.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await dlq.disconnect();
    expect(letters.map((l) => l.error)).toEqual([expect.stringMatching(/sourceId is required/), expect.stringMatching(/toStatus must be one of/)]);
    expect(letters[0].group).toBe(`${p.prefix}shipment-reducer-observations`);
  });
});
