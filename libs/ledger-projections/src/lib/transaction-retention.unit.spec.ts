import type { LedgerInput } from './documents';
import { ArchivedHistoryUnavailableError } from './errors';
import { ledgerKeys } from './keys';
import { MemoryReads } from './memory-reads';
import { applyToMemory } from './project';
import { LedgerReader } from './reader';
import { archiveTransactionsInMemory } from './transaction-retention';
import { MemoryKeyspace } from './writes';
import { asTransaction, resetOffsets, T0, transaction } from './fixtures.spec';

const PREFIX = 't.ledger:';
const keys = ledgerKeys(PREFIX, 0);

/** accounting.transactions as an archive reads it back: what was projected, by offset. */
function projectedTopic(inputs: readonly LedgerInput[]) {
  const byOffset = new Map(inputs.map((input) => [input.position.offset, input]));
  return { load: async (positions: ReadonlyArray<{ partition: number; offset: string }>) => positions.flatMap((p) => byOffset.get(p.offset) ?? []) };
}

describe("the retention window over the ledger's accounting copy", () => {
  beforeEach(() => resetOffsets());

  it('archives transactions to their account and pages through both as before; a late duplicate is refused by its version', async () => {
    const ks = new MemoryKeyspace();
    const booked = [1, 2, 3, 4].map((n) => asTransaction(transaction('ACC-1', `tx-${n}`, n * 1000, T0 + n * 60_000, {}, `trace-${n}`)));
    applyToMemory(ks, PREFIX, booked);
    const reader = new LedgerReader(new MemoryReads(ks), PREFIX, () => [0], { source: projectedTopic(booked) });
    const pages = async () => [await reader.accountTransactions('ACC-1', { limit: 3 }), await reader.accountTransactions('ACC-1', { limit: 500 })];
    const before = await pages();
    const account = ks.get(keys.account('ACC-1'));
    expect(before[0].items.map((t) => t.data.transactionId)).toEqual(['tx-4', 'tx-3', 'tx-2']);

    // tx-1 and tx-3: what stays live and what is archived interleave by version.
    await archiveTransactionsInMemory(ks, PREFIX, 0, ['tx-1', 'tx-3']);
    expect(ks.get(keys.transaction('tx-1'))).toBeNull();
    expect(ks.zrange(keys.accountTransactions('ACC-1')).map(([m]) => m)).toEqual(['tx-2', 'tx-4']);
    expect(ks.zrange(keys.accountArchived('ACC-1'))).toEqual([
      [`${booked[0].position.offset}|tx-1`, 1],
      [`${booked[2].position.offset}|tx-3`, 3],
    ]);
    expect(ks.zrange(keys.archivableTransactions).map(([m]) => m)).toEqual(['tx-2', 'tx-4']);
    expect(ks.zrange(keys.trace('trace-1'))).toEqual([]);
    expect(await pages()).toEqual(before);

    // The same record again (a replay past the offsets, say): no document to see it by, and its version is not new.
    const result = applyToMemory(ks, PREFIX, [asTransaction(booked[0].record.value as never)]);
    expect(result.duplicates).toBe(1);
    expect(ks.get(keys.account('ACC-1'))).toBe(account);

    // Kafka no longer holding an archived record: the page is unavailable, never shorter.
    const forgetful = new LedgerReader(new MemoryReads(ks), PREFIX, () => [0], { source: projectedTopic(booked.slice(1)) });
    await expect(forgetful.accountTransactions('ACC-1', { limit: 500 })).rejects.toBeInstanceOf(ArchivedHistoryUnavailableError);
    expect((await forgetful.accountTransactions('ACC-1', { limit: 1 })).items.map((t) => t.data.transactionId)).toEqual(['tx-4']);
  });
});
