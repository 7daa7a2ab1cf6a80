import { TOPICS } from '@waybill/contracts';
import type { createSerde } from '@waybill/contracts';
import type { ShipmentCommand } from '@waybill/shipment-domain';
import { commandToRecord } from '@waybill/shipment-messages';

/**
 * One shipment's commands from creation to packed, each accepted after the one before it:
 * create, release (team lead), pick A ×2, pick B, complete picking, pack. Command ids are
 * `<shipmentId>-w<wave>-s<step>`.
 */
export function lifeOf(shipmentId: string, wave: number): ShipmentCommand[] {
  const meta = (step: number, role: ShipmentCommand['metadata']['role'] = 'associate') => ({
    commandId: `${shipmentId}-w${wave}-s${step}`,
    shipmentId,
    initiatedBy: 'ana.associate',
    role,
    traceId: `trace-${shipmentId}`,
    now: Date.now(),
  });
  return [
    {
      type: 'CreateShipment',
      data: {
        orderId: `ORD-${shipmentId}`,
        customerAccountId: 'ACC-1',
        currency: 'EUR',
        lines: [
          { sku: 'A', quantity: 2, unitPriceMinor: 100 },
          { sku: 'B', quantity: 1, unitPriceMinor: 250 },
        ],
        destination: { name: 'N', street: 'S 1', city: 'C', postalCode: '1000', country: 'NL' },
      },
      metadata: meta(0),
    },
    { type: 'ReleaseForPicking', data: {}, metadata: meta(1, 'team-lead') },
    { type: 'PickItem', data: { sku: 'A', quantity: 2 }, metadata: meta(2) },
    { type: 'PickItem', data: { sku: 'B', quantity: 1 }, metadata: meta(3) },
    { type: 'CompletePicking', data: {}, metadata: meta(4) },
    { type: 'Pack', data: { packageCount: 1 }, metadata: meta(5) },
  ] as ShipmentCommand[];
}

/** Commands as records of shipment.commands (keyed by shipment), Confluent-framed by `serde`. */
export function commandMessages(serde: ReturnType<typeof createSerde>, commands: readonly ShipmentCommand[]): Promise<Array<{ key: string; value: Buffer }>> {
  return Promise.all(
    commands.map(async (c) => {
      const record = commandToRecord(c);
      return { key: c.metadata.shipmentId, value: await serde.encode(TOPICS.shipmentCommands, record.type, record.value as never) };
    }),
  );
}
