import { entriesToArchive } from './history-window';
import { archivedMember, booked, bookedArchived, parseArchivedMember, type TransactionEntry } from './read-model';

const entry = (version: number, timestamp: number, transactionId = `tx-${version}`): TransactionEntry => ({
  version,
  transactionId,
  eventId: `${transactionId}:0`,
  kind: 'Charge',
  amountMinor: 1000 * version,
  currency: 'EUR',
  balanceAfterMinor: 500 * version * (version + 1),
  reason: null,
  shipmentId: 'S-1',
  sourceEventId: 'S-1:3',
  traceId: 'trace-1',
  causationId: 'cmd-1',
  initiatedBy: 'accounting-listener',
  timestamp,
  position: { topic: 'accounting.transactions', partition: 4, offset: String(100 + version) },
});

describe('the history window', () => {
  it('takes the oldest entries booked before the cutoff, up to the first that was not', () => {
    // Version 3 was booked a little earlier than version 2 (another instance's clock): it stays,
    // behind version 2, so what the list keeps is always its newest versions.
    const list = [entry(1, 100), entry(2, 300), entry(3, 250), entry(4, 400)].map((e) => JSON.stringify(e));
    expect(entriesToArchive(list, 200).map((m) => m.version)).toEqual([1]);
    expect(entriesToArchive(list, 350).map((m) => m.version)).toEqual([1, 2, 3]);
    expect(entriesToArchive(list, 50)).toEqual([]);
    expect(entriesToArchive(list, 1_000).map((m) => m.member)).toEqual(list);
  });

  it('keeps in an archived entry, under the 64 bytes of a compact zset member, what a balance fold and a page need', () => {
    const original = entry(7, 1_733_000_000_123, 'ship:S-1|a-transaction-id-long-enough-to-matter-here');
    const member = archivedMember(original);
    expect(member.length).toBeLessThan(64);
    const archived = parseArchivedMember(member);
    expect(archived).toEqual({ version: 7, timestamp: 1_733_000_000_123, amountMinor: 7000, balanceAfterMinor: 28_000, offset: '107' });
    expect(bookedArchived('ACC-1', 'EUR', archived)).toEqual({ ...booked('ACC-1', original), data: { ...booked('ACC-1', original).data, transactionId: '' } });
  });
});
