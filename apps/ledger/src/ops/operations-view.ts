import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import type { Logger } from '@waybill/platform';
import { KafkaWire } from '@waybill/streams';

/**
 * The operations view's data: every consumer group under TOPIC_PREFIX with its members, the
 * committed offset, end offset and lag of every partition it owns or committed, the dead letters
 * of every `<topic>.dlq`, and when each group last rebalanced.
 *
 * Figures mean what `kafka-consumer-groups --describe` means: CURRENT-OFFSET is the group's
 * committed offset (none: `null`), LOG-END-OFFSET the partition's high watermark (ListOffsets
 * latest, READ_UNCOMMITTED, the tool's default), LAG their difference.
 *
 * Kafka does not say when a classic group last rebalanced (DescribeGroups has no generation and
 * no time). So it is observed: every `pollMs` the groups are described, and a change of state,
 * members or assignment is a rebalance seen between the previous poll and this one. Until the
 * first change after this ledger started, a group's last rebalance is unknown (`null`), and the
 * view says since when it has been watching.
 */

export interface OpsMember {
  memberId: string;
  clientId: string;
  host: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface OpsPartition {
  topic: string;
  partition: number;
  /** The group's committed offset, as a decimal string; null when it committed none. */
  committed: string | null;
  /** The high watermark. */
  end: string;
  /** end − committed; null without a committed offset (the tool prints `-`). */
  lag: string | null;
  /** The member that owns the partition now, if any. */
  memberId: string | null;
}

export interface OpsRebalance {
  /** When the last change was first seen (the end of the window it happened in); null: none seen yet. */
  observedAt: string | null;
  /** The poll before it: the rebalance happened after this instant. */
  after: string | null;
  /** How many changes were seen since watching began. */
  seen: number;
}

export interface OpsGroup {
  groupId: string;
  state: string;
  protocol: string;
  members: OpsMember[];
  partitions: OpsPartition[];
  totalLag: string;
  lastRebalance: OpsRebalance;
}

export interface OpsDeadLetters {
  topic: string;
  /** The topic the dead letters came from. */
  source: string;
  /** Committed dead-letter records (control records and aborted ones not counted). */
  records: number;
  end: string;
}

export interface OpsSnapshot {
  generatedAt: string;
  topicPrefix: string;
  rebalances: { method: string; pollMs: number; watchingSince: string };
  groups: OpsGroup[];
  deadLetters: OpsDeadLetters[];
}

/** What the routes need: a snapshot. */
export interface OperationsSource {
  snapshot(): Promise<OpsSnapshot>;
}

interface Watch {
  fingerprint: string;
  lastPollAt: number;
  observedAt: number | null;
  after: number | null;
  seen: number;
}

interface DeadLetterCount {
  position: bigint;
  committed: number;
  /** Records of each producer's open transaction, counted once its marker says commit. */
  pending: Map<string, number>;
}

const CONSUMER = 'consumer';
const DLQ_SUFFIX = '.dlq';

function decodeAssignment(buffer: Buffer): Array<{ topic: string; partitions: number[] }> {
  if (!buffer || buffer.length === 0) return [];
  try {
    const decoded = AssignerProtocol.MemberAssignment.decode(buffer);
    if (!decoded) return [];
    return Object.entries(decoded.assignment)
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }))
      .sort((a, b) => a.topic.localeCompare(b.topic));
  } catch {
    return [];
  }
}

export class OperationsView implements OperationsSource {
  private admin?: Admin;
  private wire?: KafkaWire;
  private timer?: NodeJS.Timeout;
  private readonly watches = new Map<string, Watch>();
  private readonly deadLetterCounts = new Map<string, DeadLetterCount>();
  private readonly startedAt = Date.now();
  private cached?: { at: number; value: Promise<OpsSnapshot> };

  constructor(
    private readonly kafka: Kafka,
    private readonly topicPrefix: string,
    private readonly logger: Logger,
    readonly pollMs = 2_000,
  ) {}

  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.wire = new KafkaWire(this.kafka);
    await this.wire.connect();
    await this.observe().catch((err) => this.logger.warn({ err }, 'operations view: first look at the groups failed'));
    this.timer = setInterval(() => void this.observe().catch((err) => this.logger.warn({ err }, 'operations view: could not describe the groups')), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.admin?.disconnect().catch(() => undefined);
    await this.wire?.disconnect();
  }

  /** A snapshot, shared by requests within the same second (several open pages cost one look). */
  snapshot(): Promise<OpsSnapshot> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 1_000) return this.cached.value;
    const value = this.build();
    this.cached = { at: now, value };
    value.catch(() => (this.cached = undefined));
    return value;
  }

  private connected(): { admin: Admin; wire: KafkaWire } {
    if (!this.admin || !this.wire) throw new Error('the operations view is not started');
    return { admin: this.admin, wire: this.wire };
  }

  private async groupIds(admin: Admin): Promise<string[]> {
    const { groups } = await admin.listGroups();
    return groups
      .filter((g) => (g.protocolType === CONSUMER || g.protocolType === '') && g.groupId.startsWith(this.topicPrefix))
      .map((g) => g.groupId)
      .sort();
  }

  /** One look at every group, noting which changed since the last look. */
  private async observe(): Promise<Awaited<ReturnType<Admin['describeGroups']>>['groups']> {
    const { admin } = this.connected();
    const ids = await this.groupIds(admin);
    const described = ids.length ? (await admin.describeGroups(ids)).groups : [];
    const now = Date.now();
    for (const group of described) {
      const fingerprint = JSON.stringify([group.state, group.protocol, group.members.map((m) => [m.memberId, decodeAssignment(m.memberAssignment as Buffer)]).sort()]);
      const watch = this.watches.get(group.groupId);
      if (!watch) {
        this.watches.set(group.groupId, { fingerprint, lastPollAt: now, observedAt: null, after: null, seen: 0 });
        continue;
      }
      if (watch.fingerprint !== fingerprint) {
        watch.after = watch.lastPollAt;
        watch.observedAt = now;
        watch.seen += 1;
        watch.fingerprint = fingerprint;
      }
      watch.lastPollAt = now;
    }
    return described;
  }

  private async build(): Promise<OpsSnapshot> {
    const { admin, wire } = this.connected();
    const described = await this.observe();
    const committedByGroup = new Map<string, Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>();
    for (const group of described) {
      // NOTE: without `topics`, OffsetFetch answers every partition the group committed.
      committedByGroup.set(group.groupId, await admin.fetchOffsets({ groupId: group.groupId }));
    }
    const topics = new Set<string>();
    for (const group of described) {
      for (const member of group.members) for (const a of decodeAssignment(member.memberAssignment as Buffer)) topics.add(a.topic);
      for (const t of committedByGroup.get(group.groupId) ?? []) topics.add(t.topic);
    }
    const allTopics = await admin.listTopics();
    const deadLetterTopics = allTopics.filter((t) => t.startsWith(this.topicPrefix) && t.endsWith(DLQ_SUFFIX)).sort();
    const existing = new Set(allTopics);
    const wanted = [...new Set([...topics, ...deadLetterTopics])].filter((t) => existing.has(t));
    const metadata = wanted.length ? (await admin.fetchTopicMetadata({ topics: wanted })).topics : [];
    const ends = await wire.offsets(metadata.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partitionId) })));

    const groups: OpsGroup[] = described.map((group) => {
      const owners = new Map<string, string>();
      const members: OpsMember[] = group.members
        .map((m) => {
          const assignment = decodeAssignment(m.memberAssignment as Buffer);
          for (const a of assignment) for (const p of a.partitions) owners.set(`${a.topic}:${p}`, m.memberId);
          return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost.replace(/^\//, ''), assignment };
        })
        .sort((a, b) => a.memberId.localeCompare(b.memberId));
      const rows = new Map<string, OpsPartition>();
      const row = (topic: string, partition: number, committed: string | null) => {
        const end = ends.get(`${topic}:${partition}`)?.high;
        if (end === undefined) return;
        const known = committed !== null && BigInt(committed) >= 0n ? committed : null;
        rows.set(`${topic}:${partition}`, {
          topic,
          partition,
          committed: known,
          end: end.toString(),
          lag: known === null ? null : (end - BigInt(known)).toString(),
          memberId: owners.get(`${topic}:${partition}`) ?? null,
        });
      };
      for (const t of committedByGroup.get(group.groupId) ?? []) for (const p of t.partitions) if (BigInt(p.offset) >= 0n) row(t.topic, p.partition, p.offset);
      for (const [key] of owners) {
        if (rows.has(key)) continue;
        const at = key.lastIndexOf(':');
        row(key.slice(0, at), Number(key.slice(at + 1)), null);
      }
      const partitions = [...rows.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      const watch = this.watches.get(group.groupId);
      return {
        groupId: group.groupId,
        state: group.state,
        protocol: group.protocol,
        members,
        partitions,
        totalLag: partitions.reduce((sum, p) => sum + (p.lag === null ? 0n : BigInt(p.lag)), 0n).toString(),
        lastRebalance: {
          observedAt: watch?.observedAt ? new Date(watch.observedAt).toISOString() : null,
          after: watch?.after ? new Date(watch.after).toISOString() : null,
          seen: watch?.seen ?? 0,
        },
      };
    });

    const deadLetters: OpsDeadLetters[] = [];
    for (const topic of deadLetterTopics) {
      const partitions = metadata.find((t) => t.name === topic)?.partitions.map((p) => p.partitionId) ?? [];
      let records = 0;
      let end = 0n;
      for (const partition of partitions) {
        const high = ends.get(`${topic}:${partition}`)?.high ?? 0n;
        end += high;
        records += await this.countDeadLetters(wire, topic, partition, high);
      }
      deadLetters.push({ topic, source: topic.slice(0, -DLQ_SUFFIX.length), records, end: end.toString() });
    }

    return {
      generatedAt: new Date().toISOString(),
      topicPrefix: this.topicPrefix,
      rebalances: {
        method: `observed: the groups are described every ${this.pollMs} ms, and a change of state, members or assignment counts as a rebalance between two looks (Kafka's DescribeGroups carries no time or generation)`,
        pollMs: this.pollMs,
        watchingSince: new Date(this.startedAt).toISOString(),
      },
      groups,
      deadLetters,
    };
  }

  /**
   * Committed records of one dead-letter partition, read once (from where the last look stopped):
   * a transactional record counts when its producer's commit marker arrives, never when it aborts.
   */
  private async countDeadLetters(wire: KafkaWire, topic: string, partition: number, high: bigint): Promise<number> {
    const key = `${topic}:${partition}`;
    const count = this.deadLetterCounts.get(key) ?? { position: 0n, committed: 0, pending: new Map<string, number>() };
    this.deadLetterCounts.set(key, count);
    if (count.position >= high) return count.committed;
    for (const record of await wire.readUncommitted(topic, partition, count.position, high)) {
      const producer = record.batchContext.producerId;
      if (record.isControlRecord) {
        // NOTE: a control record's key is (version int16, type int16); type 1 commits, 0 aborts.
        const commit = record.key !== null && record.key.length >= 4 && record.key.readInt16BE(2) === 1;
        if (commit) count.committed += count.pending.get(producer) ?? 0;
        count.pending.delete(producer);
      } else if (record.batchContext.inTransaction) {
        count.pending.set(producer, (count.pending.get(producer) ?? 0) + 1);
      } else {
        count.committed += 1;
      }
      count.position = BigInt(record.offset) + 1n;
    }
    return count.committed;
  }
}
