import { EventEmitter } from 'node:events';
import type { LedgerReader, ShipmentSummary } from '@waybill/ledger-projections';
import { ShipmentVersionWaiter } from './version-waiter';

/** A read model of versions only, counting how often it is read. */
function readModel() {
  const versions = new Map<string, number>();
  let reads = 0;
  const reader = {
    shipment: async (id: string) => {
      reads += 1;
      const version = versions.get(id);
      return version === undefined ? undefined : ({ shipmentId: id, version } as ShipmentSummary);
    },
  } as unknown as LedgerReader;
  return { reader, versions, reads: () => reads };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('waiting for a shipment version', () => {
  it('answers at once when the read model already holds that version or a later one', async () => {
    const model = readModel();
    model.versions.set('S1', 4);
    const waiter = new ShipmentVersionWaiter(model.reader, new EventEmitter(), 60_000);
    expect(await waiter.wait({ shipmentId: 'S1', version: 3 }, 1_000)).toEqual({ timedOut: false, version: 4 });
    expect(await waiter.wait({ shipmentId: 'NONE', version: 0 }, 1_000)).toEqual({ timedOut: false, version: 0 });
  });

  it('looks again when the projector announces the shipment at the version, not before and not for others', async () => {
    const model = readModel();
    const projected = new EventEmitter();
    // A poll this slow would never answer within the test: only the announcement can.
    const waiter = new ShipmentVersionWaiter(model.reader, projected, 60_000);
    const waiting = waiter.wait({ shipmentId: 'S1', version: 2 }, 30_000);
    await tick();
    expect(model.reads()).toBe(1);

    model.versions.set('S1', 1);
    projected.emit('shipments', new Map([['S1', 1]]));
    model.versions.set('S2', 9);
    projected.emit('shipments', new Map([['S2', 9]]));
    await tick();
    expect(model.reads()).toBe(1);

    model.versions.set('S1', 2);
    projected.emit('shipments', new Map([['S2', 10], ['S1', 2]]));
    expect(await waiting).toEqual({ timedOut: false, version: 2 });
    expect(model.reads()).toBe(2);
  });

  it('sees a version another instance projected by looking every pollMs', async () => {
    const model = readModel();
    const waiter = new ShipmentVersionWaiter(model.reader, new EventEmitter(), 20);
    const waiting = waiter.wait({ shipmentId: 'S1', version: 1 }, 5_000);
    setTimeout(() => model.versions.set('S1', 1), 50);
    expect(await waiting).toEqual({ timedOut: false, version: 1 });
  });

  it('gives up after the timeout, saying what the read model holds', async () => {
    const model = readModel();
    model.versions.set('S1', 3);
    const waiter = new ShipmentVersionWaiter(model.reader, new EventEmitter(), 60_000);
    const began = Date.now();
    expect(await waiter.wait({ shipmentId: 'S1', version: 4 }, 100)).toEqual({ timedOut: true, version: 3 });
    expect(Date.now() - began).toBeGreaterThanOrEqual(95);
  });
});
