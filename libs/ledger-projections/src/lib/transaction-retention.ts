import { writeProjection, type ProjectionPlan } from '@waybill/streams';
import type { RedisClient } from '@waybill/platform';
import type { TransactionDoc } from './documents';
import { CorruptReadModelError } from './errors';
import { ledgerKeys, timeKey, type LedgerKeys } from './keys';
import { MemoryReads, type ReadModelStore } from './memory-reads';
import type { MemoryKeyspace, Write } from './writes';

/**
 * The retention window of the ledger's copy of accounting: a transaction booked before the window
 * leaves Redis but for one member of its account's archive (`<offset>|<transactionId>` at its
 * version), from which a page of the account's transactions reads it back from
 * accounting.transactions. The account's balance stays; a late duplicate of an archived
 * transaction is still refused by its version (`projectTransaction`). Traces list what Redis holds.
 */

/** `<offset>|<transactionId>`: the offset first, as the field that never holds a '|'. */
export function archivedTransactionMember(doc: Pick<TransactionDoc, 'position' | 'data'>): string {
  return `${doc.position.offset}|${doc.data.transactionId}`;
}

export function parseArchivedTransactionMember(member: string): { offset: string; transactionId: string } {
  const bar = member.indexOf('|');
  if (bar < 1) throw new CorruptReadModelError(`archived transaction ${member}`);
  return { offset: member.slice(0, bar), transactionId: member.slice(bar + 1) };
}

/**
 * The writes that archive these transaction documents (raw, as stored): each document, its place
 * among the account's transactions and its trace entry go, its archive member comes. Pure. The plan
 * expects every document it read, so two archivers of one partition cannot both land one.
 */
export function planTransactionArchive(keys: LedgerKeys, raws: readonly string[]): ProjectionPlan {
  const expect: Array<[string, string | null]> = [];
  const writes: Write[] = [];
  for (const raw of raws) {
    let doc: TransactionDoc;
    try {
      doc = JSON.parse(raw) as TransactionDoc;
    } catch (error) {
      throw new CorruptReadModelError(`a transaction document of partition ${keys.partition}`, { cause: error });
    }
    const { transactionId, accountId } = doc.data;
    expect.push([keys.transaction(transactionId), raw]);
    writes.push(
      { op: 'del', key: keys.transaction(transactionId) },
      { op: 'zrem', key: keys.archivableTransactions, member: transactionId },
      { op: 'zrem', key: keys.accountTransactions(accountId), member: transactionId },
      { op: 'zadd', key: keys.accountArchived(accountId), score: doc.version, member: archivedTransactionMember(doc) },
      { op: 'zrem', key: keys.trace(doc.traceId), member: `${timeKey(doc.timestamp)}|transaction|${transactionId}` },
    );
  }
  return { expect, writes };
}

/** Transactions archived per script. */
const TRANSACTIONS_PER_ARCHIVE = 200;

async function archivePlan(store: ReadModelStore, keys: LedgerKeys, transactionIds: readonly string[]): Promise<{ plan: ProjectionPlan; gone: string[] }> {
  const raws = transactionIds.length ? await store.mget(...transactionIds.map((id) => keys.transaction(id))) : [];
  const present = raws.flatMap((raw) => (raw === null ? [] : [raw]));
  const gone = transactionIds.filter((_, i) => raws[i] === null);
  const plan = planTransactionArchive(keys, present);
  // A candidate with no document (archived by another owner meanwhile) just leaves the candidates.
  const stale = gone.map((id): Write => ({ op: 'zrem', key: keys.archivableTransactions, member: id }));
  return { plan: { expect: plan.expect, writes: [...plan.writes, ...stale] }, gone };
}

/**
 * Archives every transaction of `partition` booked before `cutoff` (epoch ms), the oldest first, in
 * atomic scripts on the partition's hash slot: what the ledger's pruner runs on each partition of
 * accounting.transactions it owns, and `waybill rebuild ledger` after its replay. Returns how many.
 */
export async function archiveTransactionsBefore(redis: RedisClient, keyPrefix: string, partition: number, cutoff: number, options: { stopped?: () => boolean } = {}): Promise<{ archived: number; conflicts: number }> {
  const keys = ledgerKeys(keyPrefix, partition);
  const result = { archived: 0, conflicts: 0 };
  while (!options.stopped?.()) {
    const ids = await redis.zrangebyscore(keys.archivableTransactions, '-inf', `(${cutoff}`, 'LIMIT', 0, TRANSACTIONS_PER_ARCHIVE);
    if (!ids.length) break;
    const { plan, gone } = await archivePlan(redis, keys, ids);
    if ((await writeProjection(redis, plan)) !== 'written') {
      // Another owner of the partition archived some of them meanwhile: the next pass reads again.
      result.conflicts += ids.length;
      break;
    }
    result.archived += ids.length - gone.length;
    if (ids.length < TRANSACTIONS_PER_ARCHIVE) break;
  }
  return result;
}

/** The same archive of these transactions, in a keyspace folded in memory (`waybill verify` mirrors what the live ledger archived). */
export async function archiveTransactionsInMemory(keyspace: MemoryKeyspace, keyPrefix: string, partition: number, transactionIds: readonly string[]): Promise<void> {
  const { plan } = await archivePlan(new MemoryReads(keyspace), ledgerKeys(keyPrefix, partition), transactionIds);
  keyspace.apply(plan.writes);
}
