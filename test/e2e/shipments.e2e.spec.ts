import type { CommandOutcome, DecodedRecord, ShipmentEventRecord } from '@waybill/contracts';
import { call, newShipment, pipeline, type Pipeline } from '../support/pipeline';

const outcomes = (records: DecodedRecord[]): CommandOutcome[] =>
  records.flatMap((r) => (r.recordName === 'CommandOutcome' ? [r.value] : []));
const events = (records: DecodedRecord[]): Array<ShipmentEventRecord['value'] & { recordName: string }> =>
  records.flatMap((r) => (r.recordName === 'CommandOutcome' ? [] : [{ ...(r.value as ShipmentEventRecord['value']), recordName: r.recordName }]));

// HTTP → shipment-handler → shipment.commands → shipment-reducer → shipment.events/outcomes →
// shipment-handler → HTTP, on real Kafka, Redis and the schema registry.

describe('shipments, end to end', () => {
  let p: Pipeline;
  let handler: Awaited<ReturnType<Pipeline['start']>>;

  beforeAll(async () => {
    p = await pipeline('shipments');
    await p.start('shipment-reducer');
    handler = await p.start('shipment-handler', { OUTCOME_WAIT_MS: '10000' });
  });
  afterAll(() => p?.close());

  async function advanceToPacked(id: string): Promise<void> {
    expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment(id) })).status).toBe(201);
    const steps: Array<[string, string, object]> = [
      ['team-lead', 'ReleaseForPicking', {}],
      ['associate', 'PickItem', { sku: 'SKU-A', quantity: 2 }],
      ['associate', 'PickItem', { sku: 'SKU-B', quantity: 1 }],
      ['associate', 'CompletePicking', {}],
      ['associate', 'Pack', { packageCount: 2 }],
    ];
    for (const [role, type, data] of steps) {
      const res = await call(handler, 'POST', `/shipments/${id}/commands`, { role, body: { type, data } });
      expect([res.status, res.body.status]).toEqual([200, 'accepted']);
    }
  }

  it("refuses a team lead's Packed → PendingPicking with 422, keeps the shipment Packed, and raises an alert within a second", async () => {
    await advanceToPacked('1345693');
    const sentAt = Date.now();
    const refused = await call(handler, 'POST', '/shipments/1345693/commands', { role: 'team-lead', body: { type: 'ReleaseForPicking' } });
    expect(refused.status).toBe(422);
    // A refusal changed nothing: its read token names the version it found.
    expect(refused.body).toMatchObject({ status: 'rejected', error: 'INVALID_TRANSITION', currentStatus: 'Packed', currentVersion: 6, readToken: '1345693@6', alert: true });
    expect(refused.body.allowedCommands).toEqual(['MarkReadyForShipping', 'Cancel', 'CorrectStatus']);
    expect(refused.body.message).toContain('Packed');

    const alert = outcomes(await p.readTopic('shipmentOutcomes', 7)).find((o) => o.alert && o.aggregateId === '1345693');
    expect(alert).toMatchObject({ initiatedBy: 'tom.teamlead', commandType: 'ReleaseForPicking', status: 'Rejected' });
    expect(alert?.rejection?.currentStatus).toBe('Packed');
    // The outcome is stamped with the command's time; it was on the topic when readTopic saw it.
    expect(alert!.timestamp - sentAt).toBeLessThan(1000);
    expect(Date.now() - sentAt).toBeLessThan(15_000);

    // Still Packed at version 6: the next legal command applies on top of it.
    const next = await call(handler, 'POST', '/shipments/1345693/commands', {
      role: 'associate',
      body: { type: 'MarkReadyForShipping' },
      headers: { 'If-Match': '"6"' },
    });
    expect([next.status, next.body.version, next.body.readToken]).toEqual([200, 7, '1345693@7']);
  });

  it('lets a supervisor correct a status with a reason (StatusCorrected), refuses a team lead with 403 and an alert', async () => {
    await advanceToPacked('C-1');
    const byLead = await call(handler, 'POST', '/shipments/C-1/commands', {
      role: 'team-lead',
      body: { type: 'CorrectStatus', data: { toStatus: 'Picking', reason: 'miscounted' } },
    });
    expect([byLead.status, byLead.body.error, byLead.body.alert]).toEqual([403, 'FORBIDDEN', true]);

    const bySupervisor = await call(handler, 'POST', '/shipments/C-1/commands', {
      role: 'supervisor',
      body: { type: 'CorrectStatus', data: { toStatus: 'Picking', reason: 'one box was missing', initiatedBy: 'someone-else' } },
    });
    expect([bySupervisor.status, bySupervisor.body.version]).toEqual([200, 7]);
    const corrected = events(await p.readTopic('shipmentEvents', 1)).find((e) => e.recordName === 'StatusCorrected' && e.aggregateId === 'C-1');
    expect(corrected).toMatchObject({ version: 7, initiatedBy: 'sue.supervisor' });
    expect(corrected?.data).toMatchObject({ fromStatus: 'Packed', toStatus: 'Picking', reason: 'one box was missing', correctedBy: 'sue.supervisor' });
  });

  it('lets exactly one of two concurrent commands with the same expected version win; the other gets 409', async () => {
    expect((await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment('R-1') })).status).toBe(201);
    const [a, b] = await Promise.all(
      ['associate', 'team-lead'].map((role) =>
        call(handler, 'POST', '/shipments/R-1/commands', { role, body: { type: 'ReleaseForPicking' }, headers: { 'If-Match': '"1"' } }),
      ),
    );
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body).toMatchObject({ error: 'VERSION_CONFLICT', currentVersion: 2 });
  });

  it('answers a repeated Idempotency-Key with the first outcome and produces no second event', async () => {
    const headers = { 'Idempotency-Key': 'create-I-1' };
    const first = await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment('I-1'), headers });
    const again = await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment('I-1'), headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.commandId).toBe(first.body.commandId);
    const reused = await call(handler, 'POST', '/shipments', { role: 'associate', body: newShipment('I-2'), headers });
    expect(reused.status).toBe(422);
    expect(events(await p.readTopic('shipmentEvents', 1)).filter((e) => e.aggregateId === 'I-1')).toHaveLength(1);
  });

  it('names every bad field with 400, refuses viewers with 403 and unknown keys with 401, and produces nothing', async () => {
    const bad = await call(handler, 'POST', '/shipments', {
      role: 'associate',
      body: { ...newShipment('V-1'), currency: 'euro', lines: [{ sku: '', quantity: -1, unitPriceMinor: 1.5 }] },
    });
    expect(bad.status).toBe(400);
    const fields = bad.body.fieldErrors.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['currency', 'lines[0].sku', 'lines[0].quantity', 'lines[0].unitPriceMinor']));
    expect((await call(handler, 'POST', '/shipments', { role: 'viewer', body: newShipment('V-2') })).status).toBe(403);
    expect((await call(handler, 'POST', '/shipments', { body: newShipment('V-3'), headers: { 'x-api-key': 'nope' } })).status).toBe(401);
    expect(events(await p.readTopic('shipmentEvents', 1)).filter((e) => e.aggregateId.startsWith('V-'))).toEqual([]);
  });
});
