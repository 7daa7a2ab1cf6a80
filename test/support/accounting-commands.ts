import type { AccountingCommand, createSerde } from '@waybill/contracts';

/**
 * The charge accounting-listener sends when a shipment leaves: it opens the account if it is new.
 * Ids derive from `accountId` and `n`, as the listener's derive from the causing event.
 */
export function shipmentCharge(accountId: string, n: number, amountMinor = 10_000): AccountingCommand {
  const sourceEventId = `ship-${accountId}-${n}:0`;
  return {
    commandId: `charge-${accountId}-${n}`,
    aggregateId: accountId,
    aggregateType: 'Account',
    expectedVersion: null,
    traceId: `trace-${accountId}-${n}`,
    causationId: sourceEventId,
    initiatedBy: 'accounting-listener',
    role: 'system',
    timestamp: Date.now(),
    data: { transactionId: `charge-${accountId}-${n}`, accountId, kind: 'Charge', amountMinor, currency: 'EUR', reason: null, shipmentId: `S-${accountId}-${n}`, sourceEventId },
  };
}

/** Commands as records of accounting.commands (keyed by account), Confluent-framed by `serde`. */
export function accountingCommandMessages(serde: ReturnType<typeof createSerde>, commands: readonly AccountingCommand[]): Promise<Array<{ key: string; value: Buffer }>> {
  return Promise.all(commands.map(async (command) => ({ key: command.aggregateId, value: await serde.encode('accounting.commands', 'AccountingCommand', command) })));
}
