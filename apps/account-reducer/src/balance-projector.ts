import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type Redis from 'ioredis';
import { TOPICS, UndecodableMessageError, type Serde, type TransactionRecorded } from '@waybill/contracts';
import type { AppMetrics, Logger } from '@waybill/platform';
import { committedMessages, deadLetterRecord, toInputRecord, watchReflectedOffsets, type OutputRecord } from '@waybill/streams';
import { foldBalance } from '@waybill/accounting-domain';
import { readModelKeys, type AccountSnapshot, type TransactionEntry } from './read-model';

export interface BalanceProjectorOptions {
  kafka: Kafka;
  redis: Redis;
  serde: Serde;
  groupId: string;
  /** The physical `accounting.transactions` topic. */
  topic: string;
  topicPrefix: string;
  maxBatchSize: number;
  partitionsConcurrently: number;
  sessionTimeout: number;
  /** How often the stored offsets are compared with what this instance knows (see watchReflectedOffsets). */
  offsetsWatchIntervalMs: number;
  logger: Logger;
  metrics: AppMetrics;
  /** A consumer kafkajs will not restart: the app exits and its supervisor starts it again. */
  onCrash: (error: Error) => void;
  /** Sends records that can never decode to `<topic>.dlq`, acknowledged before the chunk is folded. */
  deadLetter: (records: OutputRecord[]) => Promise<void>;
}

// Writes a chunk's account snapshots, their new transactions and the partition's next offset in
// one atomic step, but only if the stored offset is still the one this chunk was folded from
// (ARGV[2], '' = none). A second owner of the partition (a zombie during a rebalance) or a
// rebuild that deleted the keys makes the check fail instead of counting anything twice.
// KEYS: offsets hash, then per account its snapshot key and its transactions key.
// ARGV: field, expected, next, then per account: snapshot JSON, n, and n (score, member) pairs.
const COMMIT_SCRIPT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
local a = 4
local k = 2
while k <= #KEYS do
  redis.call('SET', KEYS[k], ARGV[a])
  local n = tonumber(ARGV[a + 1])
  local i = a + 2
  local stop = i + 2 * n - 1
  while i <= stop do
    local last = math.min(i + 399, stop)
    redis.call('ZADD', KEYS[k + 1], unpack(ARGV, i, last))
    i = last + 1
  end
  a = stop + 1
  k = k + 2
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * The account-reducer's loop: folds `accounting.transactions` (read_committed) into one balance
 * snapshot per account. Redis, not the consumer group, says what is reflected: each partition's
 * next offset sits beside the snapshots it covers and moves in the same atomic write, and on
 * assignment the partition is read from exactly there. So a crash between the Redis write and the
 * group commit re-reads nothing it counts twice (those records are below the stored offset and
 * are skipped), and a flushed Redis starts again from the beginning of the topic.
 */
export class BalanceProjector {
  private consumer?: Consumer;
  private admin?: Admin;
  private joined = false;
  /** Per partition, the stored next offset this instance last saw or wrote (`''` = none); absent = look again. */
  private readonly expected = new Map<number, string>();
  /** Per partition, the stored next offset seen on assignment, until a batch sets `expected`. */
  private readonly observed = new Map<number, bigint>();
  private assigned: number[] = [];
  private watch?: { stop(): void };
  private readonly keys: ReturnType<typeof readModelKeys>;

  constructor(private readonly options: BalanceProjectorOptions) {
    this.keys = readModelKeys(options.topicPrefix);
  }

  get ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    const { kafka, groupId, topic, partitionsConcurrently, sessionTimeout } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.options.onCrash(payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      // NOTE: rebalance. Another owner may have moved any partition on meanwhile: look at Redis again.
      this.expected.clear();
      this.observed.clear();
      const assigned = payload.memberAssignment[topic] ?? [];
      this.assigned = assigned;
      this.options.logger.info({ assigned }, 'partitions assigned');
      // NOTE: a partition with nothing new would never reach eachBatch, so a Redis that lost its
      // keys (a rebuild) would wait for the next transaction: seek every assigned partition to what
      // Redis reflects now. Racing a batch is harmless: records below the stored offset are skipped.
      void Promise.all(assigned.map((partition) => this.resume(topic, partition))).catch((err) =>
        this.options.logger.warn({ err }, 'could not read the stored offsets on assignment; the first batch checks again'),
      );
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: partitionsConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.watch = watchReflectedOffsets({
      redis: this.options.redis,
      offsetsKey: this.keys.offsets,
      partitions: () => this.assigned.map((partition) => ({ topic, partition, field: String(partition) })),
      lastKnown: (field) => {
        const partition = Number(field);
        const expected = this.expected.get(partition);
        if (expected !== undefined) return expected === '' ? undefined : BigInt(expected);
        return this.observed.get(partition);
      },
      onLost: ({ partition }) => this.lost(topic, partition),
      intervalMs: this.options.offsetsWatchIntervalMs,
      logger: this.options.logger,
    });
    const deadline = Date.now() + 30_000;
    while (!this.joined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { redis, logger, maxBatchSize, metrics, groupId } = this.options;
    const consumer = this.consumer!;
    const { topic, partition } = batch;
    const field = String(partition);

    let expected = this.expected.get(partition);
    if (expected === undefined) {
      // kafkajs's Batch keeps the offset it fetched from (batch.js); it is not in the typings.
      const fetched = BigInt(String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset));
      const stored = await redis.hget(this.keys.offsets, field);
      const from = stored !== null ? BigInt(stored) : await this.earliest(topic, partition);
      this.expected.set(partition, stored ?? '');
      if (from !== fetched) {
        logger.info({ partition, fetched: fetched.toString(), from: from.toString() }, 'resuming from the offset Redis reflects');
        consumer.seek({ topic, partition, offset: from.toString() });
        return;
      }
      expected = stored ?? '';
    }

    const { messages: committed, complete, resumeAt } = committedMessages(batch);
    // Never count a record the snapshots already include, whatever the group's position says.
    const floor = expected === '' ? -1n : BigInt(expected);
    const messages = committed.filter((m) => BigInt(m.offset) >= floor);

    if (messages.length === 0) {
      if (!complete) {
        // A transaction whose marker is not in this fetch yet: read from its first record again.
        consumer.seek({ topic, partition, offset: resumeAt ?? batch.firstOffset() ?? '0' });
        await new Promise((r) => setTimeout(r, 50));
        return;
      }
      // Only markers, aborted or already-reflected records: record that they are behind us, so a
      // reader waiting for an offset is not kept waiting by a trailing commit marker.
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      if (BigInt(next) > floor && !(await this.write(partition, expected, next, new Map(), new Map()))) return this.lost(topic, partition);
      resolveOffset(batch.lastOffset());
      await consumer.commitOffsets([{ topic, partition, offset: next }]).catch(() => undefined);
      return;
    }

    for (let start = 0; start < messages.length; start += maxBatchSize) {
      if (!isRunning() || isStale()) return;
      const began = process.hrtime.bigint();
      const chunk = messages.slice(start, start + maxBatchSize);
      const last = chunk[chunk.length - 1];
      const isLastChunk = start + maxBatchSize >= messages.length;
      // NOTE: the last chunk of a whole batch covers trailing transaction markers too (eachBatch never
      // sees them); a batch the transaction filter cut short ends at its last decided record.
      const endsBatch = isLastChunk && complete;
      const next = (BigInt(endsBatch ? batch.lastOffset() : last.offset) + 1n).toString();
      const current = this.expected.get(partition) ?? '';

      let applied = 0;
      try {
        const { snapshots, entries, count } = await this.fold(topic, partition, chunk);
        applied = count;
        if (!(await this.write(partition, current, next, snapshots, entries))) return this.lost(topic, partition);
      } catch (err) {
        logger.warn({ err, partition, from: chunk[0].offset }, 'batch not applied; reading the partition again from what Redis reflects');
        this.expected.delete(partition);
        consumer.seek({ topic, partition, offset: chunk[0].offset });
        await new Promise((r) => setTimeout(r, 500));
        return;
      }
      // The group's offset is for lag and tooling only; Redis decides where reading resumes.
      await consumer.commitOffsets([{ topic, partition, offset: next }]).catch(() => undefined);
      if (endsBatch) resolveOffset(batch.lastOffset());
      else if (isLastChunk) consumer.seek({ topic, partition, offset: next });
      else resolveOffset(last.offset);

      metrics.batchDuration.observe({ topic: TOPICS.accountingTransactions }, Number(process.hrtime.bigint() - began) / 1e9);
      metrics.messagesProcessed.inc({ topic: TOPICS.accountingTransactions, outcome: 'applied' }, applied);
      const lag = BigInt(batch.highWatermark) - BigInt(next);
      metrics.consumerLag.set({ topic: TOPICS.accountingTransactions, partition: field, group: groupId }, Number(lag > 0n ? lag : 0n));
      await heartbeat();
    }
  }

  /** Folds a chunk onto the snapshots Redis holds (one MGET), in offset order. */
  private async fold(topic: string, partition: number, chunk: KafkaMessage[]) {
    const { serde, redis, logger } = this.options;
    const events: Array<{ event: TransactionRecorded; offset: string }> = [];
    const deadLetters: OutputRecord[] = [];
    for (const message of chunk) {
      try {
        const decoded = await serde.decode(message.value, TOPICS.accountingTransactions);
        events.push({ event: decoded.value as TransactionRecorded, offset: message.offset });
      } catch (err) {
        // Dead-lettered; the offset still moves past it. Anything else (registry down) fails the chunk.
        if (!(err instanceof UndecodableMessageError)) throw err;
        const dead = deadLetterRecord(toInputRecord(topic, partition, message), err, this.options.groupId);
        deadLetters.push(dead);
        logger.error({ err, partition, offset: message.offset, deadLetterTopic: dead.topic }, 'dead-lettering a transaction that cannot be decoded');
      }
    }
    // NOTE: at least once: a crash after this send and before the Redis write sends it again.
    if (deadLetters.length) await this.options.deadLetter(deadLetters);
    const accountIds = [...new Set(events.map((e) => e.event.aggregateId))];
    const texts = accountIds.length ? await redis.mget(...accountIds.map((id) => this.keys.account(id))) : [];
    const snapshots = new Map<string, AccountSnapshot | undefined>(accountIds.map((id, i) => [id, texts[i] ? (JSON.parse(texts[i]!) as AccountSnapshot) : undefined]));
    const entries = new Map<string, TransactionEntry[]>();
    let count = 0;
    for (const { event, offset } of events) {
      const accountId = event.aggregateId;
      const before = snapshots.get(accountId);
      if (before && event.version <= before.version) {
        // The command listener gives each account gapless versions; an old one is already counted.
        logger.warn({ accountId, version: event.version, snapshotVersion: before.version, transactionId: event.data.transactionId }, 'transaction already reflected; skipped');
        continue;
      }
      if (before && event.version !== before.version + 1) {
        logger.warn({ accountId, version: event.version, snapshotVersion: before.version }, 'account version gap');
      }
      const position = { topic, partition, offset };
      const after: AccountSnapshot = { ...foldBalance(before, event), position };
      snapshots.set(accountId, after);
      const { balanceMinor } = after;
      const list = entries.get(accountId) ?? [];
      list.push({
        version: event.version,
        transactionId: event.data.transactionId,
        eventId: event.eventId,
        kind: event.data.kind,
        amountMinor: event.data.amountMinor,
        currency: event.data.currency,
        balanceAfterMinor: balanceMinor,
        reason: event.data.reason,
        shipmentId: event.data.shipmentId,
        sourceEventId: event.data.sourceEventId,
        traceId: event.traceId,
        causationId: event.causationId,
        initiatedBy: event.initiatedBy,
        timestamp: event.timestamp,
        position,
      });
      entries.set(accountId, list);
      count += 1;
    }
    return { snapshots, entries, count };
  }

  private async write(
    partition: number,
    expected: string,
    next: string,
    snapshots: Map<string, AccountSnapshot | undefined>,
    entries: Map<string, TransactionEntry[]>,
  ): Promise<boolean> {
    const keys = [this.keys.offsets];
    const args = [String(partition), expected, next];
    for (const [accountId, list] of entries) {
      keys.push(this.keys.account(accountId), this.keys.transactions(accountId));
      args.push(JSON.stringify(snapshots.get(accountId)), String(list.length));
      for (const entry of list) args.push(String(entry.version), JSON.stringify(entry));
    }
    const applied = await this.options.redis.eval(COMMIT_SCRIPT, keys.length, ...keys, ...args);
    if (applied !== 1) return false;
    this.expected.set(partition, next);
    return true;
  }

  /** The stored offset moved under us (another owner, or a rebuild): start the partition again from Redis. */
  private async lost(topic: string, partition: number): Promise<void> {
    this.options.logger.warn({ partition }, 'the stored offset changed under this instance; reading again from what Redis reflects');
    this.expected.delete(partition);
    this.observed.delete(partition);
    await this.resume(topic, partition);
  }

  /** Seeks `partition` to the offset Redis reflects (the beginning when it reflects nothing). */
  private async resume(topic: string, partition: number): Promise<void> {
    const stored = await this.options.redis.hget(this.keys.offsets, String(partition));
    if (stored !== null) this.observed.set(partition, BigInt(stored));
    const from = stored !== null ? BigInt(stored) : await this.earliest(topic, partition);
    this.consumer!.seek({ topic, partition, offset: from.toString() });
  }

  private async earliest(topic: string, partition: number): Promise<bigint> {
    const offsets = await this.admin!.fetchTopicOffsets(topic);
    return BigInt(offsets.find((o) => o.partition === partition)?.low ?? '0');
  }
}
