import type { Admin, Kafka } from 'kafkajs';
import { createSerde, kafkajsRegistryClient } from '@waybill/contracts';
import { connectionsFromEnv, registryClientOptions, unlinkKeys, type RedisClient } from '@waybill/platform';
import {
  applyBatch,
  applyToMemory,
  archiveClosedBefore,
  archiveInMemory,
  archiveTransactionsBefore,
  archiveTransactionsInMemory,
  DAY_MS,
  DEFAULT_RETENTION_DAYS,
  shipmentOfKey,
  dumpLedgerKeyspace,
  LEDGER_TOPICS,
  ledgerKeyPrefix,
  ledgerKeyspacePrefix,
  listLedgerKeys,
  parseArchivedTransactionMember,
  readLedgerOffsets,
  MemoryKeyspace,
  offsetField,
  RebuildWriter,
  type KeyValue,
} from '@waybill/ledger-projections';
import { GroupActiveError } from '../errors';
import { assertGroupInactive } from './group-offsets';
import { commitGroupOffsets, ledgerPartitions, replayLedger, type PartitionRange, type ReplayCounts } from './ledger-replay';
import type { ReplayProgress } from './progress';
import { diffKeyspaces, type KeyDifference } from './keyspace-diff';

/** The ledger app's consumer group name (apps/ledger/src/wiring.ts GROUP_ID), before TOPIC_PREFIX. */
export const LEDGER_GROUP = 'ledger';

export interface ReplaySettings {
  topicPrefix: string;
  registryUrl: string;
  /** The ledger's SNAPSHOT_EVERY: a rebuild must use the app's value to write the same snapshots. */
  snapshotEvery: number;
  /** The ledger's LEDGER_RETENTION_DAYS: a rebuild archives what the app's pruner would (0: nothing). */
  retentionDays?: number;
  /** Records per atomic write. */
  batchSize: number;
  partitionsConcurrently: number;
  onProgress?: (progress: ReplayProgress) => void;
  onWarning?: (message: string) => void;
}

export interface RebuildSettings extends ReplaySettings {
  /**
   * Write each batch to Redis as the app does (one conditional script per batch, reading back
   * what it needs), instead of streaming each batch's net writes while the replay goes on: slower,
   * but it exercises the app's exact write path.
   */
  writePerBatch?: boolean;
}

export interface RebuildPlan {
  groupId: string;
  groupState: string;
  /** Set when the group had live members and --force went ahead anyway. */
  forcedPastMembers?: string;
  keyPrefix: string;
  keysToDelete: number;
  partitions: Array<{ topic: string; partition: number; low: bigint; high: bigint }>;
  /** Offsets to replay, summed (records plus transaction markers and aborted records). */
  offsets: number;
}

export interface RebuildSummary {
  groupId: string;
  keyPrefix: string;
  keysDeleted: number;
  records: number;
  skipped: number;
  undecodable: number;
  keys: number;
  replaySeconds: number;
  seconds: number;
  recordsPerSecond: number;
  /** Shipments closed for longer than the window, archived after the replay. */
  archived: number;
  /** Accounting transactions booked before the window, archived after the replay. */
  archivedTransactions: number;
  retentionDays: number;
  endOffsets: Record<string, Record<string, string>>;
  groupOffsetsSet: boolean;
  groupOffsetsNote?: string;
}

function toProgress(counts: ReplayCounts, began: number): ReplayProgress {
  return { records: counts.records, offsetsDone: counts.offsetsDone, offsetsTotal: counts.offsetsTotal, elapsedMs: Date.now() - began };
}

/** Refuses while the ledger's group has live members, unless `force`; says what it saw. */
export async function planLedgerRebuild(admin: Admin, redis: RedisClient, topicPrefix: string, force: boolean): Promise<RebuildPlan> {
  const groupId = topicPrefix + LEDGER_GROUP;
  let groupState: string;
  let forcedPastMembers: string | undefined;
  try {
    groupState = await assertGroupInactive(admin, groupId);
  } catch (error) {
    if (!(error instanceof GroupActiveError) || !force) {
      if (error instanceof GroupActiveError) {
        throw new GroupActiveError(`${error.message.replace(/ Stop these consumers first:.*$/, '')} Stop the ledger app first (or pass --force).`, error.context);
      }
      throw error;
    }
    groupState = String(error.context.state ?? 'active');
    forcedPastMembers = error.message;
  }
  const partitions = await ledgerPartitions(admin, topicPrefix, LEDGER_TOPICS);
  const keyPrefix = ledgerKeyPrefix(topicPrefix);
  const keysToDelete = (await listLedgerKeys(redis, keyPrefix)).length;
  const offsets = partitions.reduce((sum, p) => sum + Number(p.high - p.low), 0);
  return { groupId, groupState, ...(forcedPastMembers ? { forcedPastMembers } : {}), keyPrefix, keysToDelete, partitions, offsets };
}

/**
 * `waybill rebuild ledger`: clears every key under the ledger's prefix, replays the three topics
 * from their log start to the end offsets read now (read_committed) through `applyBatch` (the
 * app's own write path), then commits those end offsets for the ledger's group so the restarted
 * app carries on exactly where the rebuild stopped.
 */
export async function rebuildLedger(kafka: Kafka, admin: Admin, redis: RedisClient, plan: RebuildPlan, settings: RebuildSettings): Promise<RebuildSummary> {
  const began = Date.now();
  const keysDeleted = await unlinkKeys(redis, await listLedgerKeys(redis, plan.keyPrefix));
  const serde = createSerde({ registry: kafkajsRegistryClient(settings.registryUrl, registryClientOptions({ ...connectionsFromEnv(process.env), SCHEMA_REGISTRY_URL: settings.registryUrl })) });
  const ranges: PartitionRange[] = plan.partitions.map((p) => ({ topic: p.topic as PartitionRange['topic'], partition: p.partition, from: p.low, to: p.high }));
  const replayBegan = Date.now();
  const writer = settings.writePerBatch ? undefined : new RebuildWriter(redis, plan.keyPrefix, { snapshotEvery: settings.snapshotEvery });
  const counts = await replayLedger({
    kafka,
    admin,
    serde,
    topicPrefix: settings.topicPrefix,
    ranges,
    groupName: `${LEDGER_GROUP}.rebuild`,
    chunkSize: settings.batchSize,
    partitionsConcurrently: settings.partitionsConcurrently,
    apply: async (inputs, marks) => {
      // Planned by the app's own projection either way: streamed net writes into the emptied
      // keyspace, or through applyBatch (the app's atomic write, one per batch).
      const result = writer
        ? await writer.apply(inputs, marks)
        : await applyBatch(redis, plan.keyPrefix, inputs, { snapshotEvery: settings.snapshotEvery, marks });
      for (const warning of result.warnings) settings.onWarning?.(warning);
    },
    onProgress: (c) => settings.onProgress?.(toProgress(c, replayBegan)),
    onWarning: settings.onWarning,
  });
  await writer?.finish();
  const replaySeconds = (Date.now() - replayBegan) / 1000;
  const retentionDays = settings.retentionDays ?? DEFAULT_RETENTION_DAYS;
  let archived = 0;
  let archivedTransactions = 0;
  if (retentionDays > 0) {
    const cutoff = Date.now() - retentionDays * DAY_MS;
    for (const partition of new Set(plan.partitions.map((p) => p.partition))) {
      archived += (await archiveClosedBefore(redis, plan.keyPrefix, partition, cutoff)).archived;
      archivedTransactions += (await archiveTransactionsBefore(redis, plan.keyPrefix, partition, cutoff)).archived;
    }
  }

  // The group resumes at the end offsets the replay stopped at (every partition, empty ones too).
  let groupOffsetsSet = false;
  let groupOffsetsNote: string | undefined;
  try {
    await assertGroupInactive(admin, plan.groupId);
    await commitGroupOffsets(
      kafka,
      plan.groupId,
      plan.partitions.map((p) => ({ topic: settings.topicPrefix + p.topic, partition: p.partition, offset: p.high.toString() })),
    );
    groupOffsetsSet = true;
  } catch (error) {
    if (!(error instanceof GroupActiveError)) throw error;
    groupOffsetsNote = `group offsets not set: ${plan.groupId} has live members; they resume from their own positions (the projection is idempotent, and Redis now reflects the end offsets)`;
  }
  const endOffsets: Record<string, Record<string, string>> = {};
  for (const p of plan.partitions) (endOffsets[p.topic] ??= {})[String(p.partition)] = p.high.toString();
  const keys = (await listLedgerKeys(redis, plan.keyPrefix)).length;
  return {
    groupId: plan.groupId,
    keyPrefix: plan.keyPrefix,
    keysDeleted,
    records: counts.records,
    skipped: counts.skipped,
    undecodable: counts.undecodable,
    keys,
    replaySeconds: round(replaySeconds, 3),
    seconds: round((Date.now() - began) / 1000, 3),
    recordsPerSecond: Math.round(counts.records / Math.max(replaySeconds, 0.001)),
    archived,
    archivedTransactions,
    retentionDays,
    endOffsets,
    groupOffsetsSet,
    ...(groupOffsetsNote ? { groupOffsetsNote } : {}),
  };
}

export interface VerifyResult {
  keyPrefix: string;
  identical: boolean;
  /** What the live read model said it reflects, and so what was replayed: topic → partition → next offset. */
  offsets: Record<string, Record<string, string>>;
  records: number;
  keysRebuilt: number;
  keysLive: number;
  differences: KeyDifference[];
  notes: string[];
  attempts: number;
  seconds: number;
}

/**
 * `waybill verify ledger`: replays the topics into memory (`applyToMemory`, the same planning as
 * the app) up to the offsets the live read model says it reflects, then compares it with the live
 * keyspace key by key. If the live model moves on meanwhile (the ledger is running), the replay
 * catches up to its new offsets and compares again, a few times.
 */
export async function verifyLedger(kafka: Kafka, admin: Admin, redis: RedisClient, settings: ReplaySettings & { maxAttempts?: number }): Promise<VerifyResult> {
  const began = Date.now();
  const keyPrefix = ledgerKeyPrefix(settings.topicPrefix);
  const partitions = await ledgerPartitions(admin, settings.topicPrefix, LEDGER_TOPICS);
  const partitionNumbers = partitions.map((p) => p.partition);
  const serde = createSerde({ registry: kafkajsRegistryClient(settings.registryUrl, registryClientOptions({ ...connectionsFromEnv(process.env), SCHEMA_REGISTRY_URL: settings.registryUrl })) });
  const memory = new MemoryKeyspace();
  const notes: string[] = [];
  const reached = new Map<string, bigint>(partitions.map((p) => [offsetField(p.topic, p.partition), p.low]));
  const lowNoted = new Set<string>();
  let records = 0;
  const maxAttempts = settings.maxAttempts ?? 3;

  for (let attempt = 1; ; attempt += 1) {
    const target = await readLedgerOffsets(redis, keyPrefix, partitionNumbers);
    const ranges: PartitionRange[] = [];
    for (const p of partitions) {
      const field = offsetField(p.topic, p.partition);
      const stored = target[field];
      if (stored === undefined) continue;
      if (!/^\d+$/.test(stored)) {
        notes.push(`offsets field ${field} = "${stored}" is not an offset; nothing replayed for it`);
        continue;
      }
      let to = BigInt(stored);
      if (to > p.high) {
        notes.push(`${field}: the live read model claims offset ${to}, but the topic ends at ${p.high}`);
        to = p.high;
      }
      if (p.low > 0n && !lowNoted.has(field)) {
        lowNoted.add(field);
        notes.push(`${field}: records before offset ${p.low} are gone (retention); a replay cannot reproduce what they wrote`);
      }
      const from = reached.get(field) ?? p.low;
      if (to > from) ranges.push({ topic: p.topic, partition: p.partition, from, to });
    }
    const counts = await replayLedger({
      kafka,
      admin,
      serde,
      topicPrefix: settings.topicPrefix,
      ranges,
      groupName: `${LEDGER_GROUP}.verify`,
      chunkSize: settings.batchSize,
      partitionsConcurrently: settings.partitionsConcurrently,
      apply: async (inputs, marks) => {
        applyToMemory(memory, keyPrefix, inputs, { snapshotEvery: settings.snapshotEvery, marks });
      },
      onProgress: (c) => settings.onProgress?.(toProgress(c, began)),
      onWarning: settings.onWarning,
    });
    records += counts.records;
    for (const r of ranges) reached.set(offsetField(r.topic, r.partition), r.to);
    // The replay's final marks say "reflected up to `to`" for every partition replayed, so the
    // offsets key is compared too: a claim past a topic's end, or a field of no partition, differs.
    const live = await dumpLedgerKeyspace(redis, keyPrefix);
    const after = await readLedgerOffsets(redis, keyPrefix, partitionNumbers);
    if (sameHash(target, after) || attempt >= maxAttempts) {
      if (!sameHash(target, after)) notes.push('the live read model kept moving during verify (is the ledger running?); compared against the last replay, differences may be progress');
      // What the live ledger archived is archived in the replay too (when it was archived is not in
      // Kafka), so both hold the same keys; a shipment archived live but not closed in the replay differs.
      const archived = archivedShipments(live, keyPrefix);
      for (const { partition, shipmentId } of archived) await archiveInMemory(memory, keyPrefix, partition, shipmentId);
      if (archived.length) notes.push(`${archived.length} shipment(s) archived by the retention window: archived in the replay too, and compared so`);
      const archivedTxs = archivedTransactionsOf(live, keyPrefix);
      for (const [partition, ids] of archivedTxs) await archiveTransactionsInMemory(memory, keyPrefix, partition, ids);
      const txCount = [...archivedTxs.values()].reduce((n, ids) => n + ids.length, 0);
      if (txCount) notes.push(`${txCount} accounting transaction(s) archived by the retention window: archived in the replay too, and compared so`);
      const rebuilt: Record<string, KeyValue> = memory.dump();
      const differences = diffKeyspaces(rebuilt, live);
      return {
        keyPrefix,
        identical: differences.length === 0,
        offsets: groupFields(target),
        records,
        keysRebuilt: Object.keys(rebuilt).length,
        keysLive: Object.keys(live).length,
        differences,
        notes,
        attempts: attempt,
        seconds: round((Date.now() - began) / 1000, 3),
      };
    }
  }
}

/** The transactions each partition's accounts list as archived in the live read model. */
function archivedTransactionsOf(live: Record<string, KeyValue>, keyPrefix: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const head = ledgerKeyspacePrefix(keyPrefix);
  for (const [key, value] of Object.entries(live)) {
    const match = key.startsWith(head) ? /^(\d+)\}:account:[^:]+:archived$/.exec(key.slice(head.length)) : null;
    if (!match || value.type !== 'zset') continue;
    const partition = Number(match[1]);
    out.set(partition, [...(out.get(partition) ?? []), ...value.value.map(([member]) => parseArchivedTransactionMember(member).transactionId)]);
  }
  return out;
}

/** The shipments whose live summary says the retention window archived them. */
function archivedShipments(live: Record<string, KeyValue>, keyPrefix: string): Array<{ partition: number; shipmentId: string }> {
  return Object.entries(live).flatMap(([key, value]) => {
    const shipment = shipmentOfKey(keyPrefix, key);
    if (!shipment || value.type !== 'string') return [];
    try {
      return (JSON.parse(value.value) as { archive?: unknown }).archive ? [shipment] : [];
    } catch {
      // A summary that is not JSON is a difference the comparison reports.
      return [];
    }
  });
}

function sameHash(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function groupFields(hash: Record<string, string>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [field, value] of Object.entries(hash).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const at = field.lastIndexOf(':');
    (out[field.slice(0, at)] ??= {})[field.slice(at + 1)] = value;
  }
  return out;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

