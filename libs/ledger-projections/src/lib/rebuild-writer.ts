import type { ChainableCommander } from 'ioredis';
import type { LedgerInput } from './documents';
import { keysToRead, planBatch, type BatchPlan, type OffsetMark, type ProjectionOptions } from './project';
import type { Write } from './writes';
import type { RedisClient } from '@waybill/platform';

/** Redis arguments per command when a batch of members or pairs is split (bounds one reply and one write). */
const PAIRS_PER_COMMAND = 500;

/** What one batch changes, each key and member once: the last write wins, increments add up. */
class BatchDelta {
  readonly strings = new Map<string, string>();
  /** member → score, or null when the batch's last word on it was a removal. */
  readonly zsets = new Map<string, Map<string, number | null>>();
  readonly increments = new Map<string, Map<string, number>>();
  readonly hashes = new Map<string, Map<string, string>>();

  add(write: Write, reached: Map<string, Map<string, bigint>>): void {
    switch (write.op) {
      case 'set':
        this.strings.set(write.key, write.value);
        return;
      case 'zadd':
        inner(this.zsets, write.key).set(write.member, write.score);
        return;
      case 'zrem':
        inner(this.zsets, write.key).set(write.member, null);
        return;
      case 'del':
        // A projection only adds; what a retention window removes goes through `archiveShipment`.
        throw new Error(`a rebuild batch never deletes (${write.key})`);
      case 'zmin':
        // Its outcome depends on what Redis holds, which a blind batch does not read.
        throw new Error(`a rebuild batch writes no conditional score (${write.key})`);
      case 'hincrby': {
        const fields = inner(this.increments, write.key);
        fields.set(write.field, (fields.get(write.field) ?? 0) + write.by);
        return;
      }
      case 'hset':
        inner(this.hashes, write.key).set(write.field, write.value);
        return;
      case 'hmax': {
        // Only a value above what this writer already sent becomes an HSET: on one connection, in
        // order, that leaves Redis at the maximum without a script.
        const sent = inner(reached, write.key);
        const value = BigInt(write.value);
        const current = sent.get(write.field);
        if (current === undefined || value > current) {
          sent.set(write.field, value);
          inner(this.hashes, write.key).set(write.field, write.value);
        }
        return;
      }
    }
  }

  /** Queues the delta on `pipeline`; returns how many commands that took. */
  queue(pipeline: ChainableCommander): number {
    let commands = 0;
    const pairs: string[] = [];
    const flushStrings = () => {
      if (pairs.length) {
        pipeline.mset(...pairs);
        commands += 1;
        pairs.length = 0;
      }
    };
    for (const [key, value] of this.strings) {
      pairs.push(key, value);
      if (pairs.length >= 2 * PAIRS_PER_COMMAND) flushStrings();
    }
    flushStrings();
    for (const [key, members] of this.zsets) {
      const adds: string[] = [];
      const removes: string[] = [];
      for (const [member, score] of members) {
        if (score === null) removes.push(member);
        else adds.push(String(score), member);
      }
      for (let i = 0; i < removes.length; i += PAIRS_PER_COMMAND) {
        pipeline.zrem(key, ...removes.slice(i, i + PAIRS_PER_COMMAND));
        commands += 1;
      }
      for (let i = 0; i < adds.length; i += 2 * PAIRS_PER_COMMAND) {
        pipeline.zadd(key, ...adds.slice(i, i + 2 * PAIRS_PER_COMMAND));
        commands += 1;
      }
    }
    for (const [key, fields] of this.increments) {
      // NOTE: an increment that nets to 0 is still sent: HINCRBY by 0 creates the field at "0", as
      // the writes one by one would have left it.
      for (const [field, by] of fields) pipeline.hincrby(key, field, by);
      commands += fields.size;
    }
    for (const [key, fields] of this.hashes) {
      pipeline.hset(key, ...[...fields].flat());
      commands += 1;
    }
    return commands;
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = outer.get(key);
  if (!map) outer.set(key, (map = new Map()));
  return map;
}

export interface RebuildWriterOptions extends ProjectionOptions {
  /** Pipelines sent and not yet answered before `apply` waits for Redis. Default 4. */
  maxInFlight?: number;
}

/**
 * The write side of `waybill rebuild ledger`: plans each batch with the app's own `planBatch` and
 * streams it into Redis while the replay goes on, instead of one conditional script per batch
 * that first reads back what it needs.
 *
 * It relies on what a rebuild guarantees and the live ledger cannot: the keyspace under `keyPrefix`
 * was empty when it started and nobody else writes it meanwhile. So the values the projection
 * reads (a shipment's summary, an outcome or transaction seen before, an account) are kept here
 * from the writes that made them, never read back; each batch's writes are folded to their net
 * effect (last value per key or member, increments summed) and sent as one MULTI/EXEC, with the
 * batch's offsets, on one connection, whose order Redis keeps. A rebuild that dies halfway so
 * leaves whole batches and offsets that say exactly what they hold, as the app's own writes do.
 */
export class RebuildWriter {
  private readonly known = new Map<string, string>();
  private readonly offsetsSent = new Map<string, Map<string, bigint>>();
  private readonly inFlight: Array<Promise<void>> = [];
  private failure: unknown;
  private commandsSent = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly options: RebuildWriterOptions = {},
  ) {}

  /** Redis commands sent so far (after coalescing). */
  get commands(): number {
    return this.commandsSent;
  }

  /**
   * Plans `inputs` (in order) and sends their net writes, one MULTI/EXEC per partition (its keys
   * share one hash slot); waits when Redis lags.
   */
  async apply(inputs: readonly LedgerInput[], marks: readonly OffsetMark[] = []): Promise<BatchPlan> {
    const partitions = [...new Set([...inputs.map((input) => input.position.partition), ...marks.map((mark) => mark.partition)])].sort((a, b) => a - b);
    const total: BatchPlan = { expect: [], writes: [], applied: 0, duplicates: 0, alerts: [], warnings: [] };
    for (const partition of partitions) {
      const plan = await this.applyPartition(
        inputs.filter((input) => input.position.partition === partition),
        marks.filter((mark) => mark.partition === partition),
      );
      total.expect.push(...plan.expect);
      total.writes.push(...plan.writes);
      total.applied += plan.applied;
      total.duplicates += plan.duplicates;
      total.alerts.push(...plan.alerts);
      total.warnings.push(...plan.warnings);
    }
    if (this.failure !== undefined) throw this.failure;
    return total;
  }

  private async applyPartition(inputs: readonly LedgerInput[], marks: readonly OffsetMark[]): Promise<BatchPlan> {
    if (this.failure !== undefined) throw this.failure;
    const initial = new Map<string, string | null>();
    for (const input of inputs) {
      for (const key of keysToRead(this.keyPrefix, input)) if (!initial.has(key)) initial.set(key, this.known.get(key) ?? null);
    }
    const plan = planBatch(this.keyPrefix, initial, inputs, { ...this.options, marks });
    const delta = new BatchDelta();
    for (const write of plan.writes) delta.add(write, this.offsetsSent);
    // Only keys the projection reads are kept: they are read before they are written, so each is
    // in `initial` of the batch that writes it.
    for (const key of initial.keys()) {
      const last = delta.strings.get(key);
      if (last !== undefined) this.known.set(key, last);
    }
    const transaction = this.redis.multi();
    const queued = delta.queue(transaction);
    // An empty batch (duplicates only) sends nothing: ioredis holds a MULTI until exec().
    if (queued > 0) this.send(transaction, queued);
    while (this.inFlight.length > (this.options.maxInFlight ?? 4)) await this.inFlight[0];
    if (this.failure !== undefined) throw this.failure;
    return plan;
  }

  /** Waits until Redis has answered every batch sent. */
  async finish(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private send(pipeline: ChainableCommander, commands: number): void {
    this.commandsSent += commands;
    const sent = pipeline.exec().then((results) => {
      if (results === null) throw new Error('Redis discarded a rebuild batch (MULTI/EXEC aborted)');
      for (const [error] of results) if (error) throw error;
    });
    const tracked: Promise<void> = sent
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.splice(this.inFlight.indexOf(tracked), 1));
    this.inFlight.push(tracked);
  }
}
