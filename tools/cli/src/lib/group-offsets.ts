import type { Admin } from 'kafkajs';
import { GroupActiveError, KafkaRequestError, NothingToResetError, UnknownTopicError } from '../errors';
import { computeNewOffsets, type PartitionOffsets, type PlannedOffset } from './compute-offsets';
import type { ResetSpec, TopicSelection } from './reset-spec';

/** The admin calls the reset needs; a kafkajs Admin satisfies it. */
export type OffsetsAdmin = Pick<
  Admin,
  'describeGroups' | 'fetchOffsets' | 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp' | 'fetchTopicMetadata' | 'listTopics' | 'setOffsets'
>;

export interface ResetRequest {
  groupId: string;
  /** 'all' = every partition the group has a committed offset on (Kafka's --all-topics). */
  scope: 'all' | readonly TopicSelection[];
  spec: ResetSpec;
  /** Clock for --reset-by-duration, injectable so tests can pin "now". */
  now?: () => number;
}

export interface ResetPlan {
  groupId: string;
  groupState: string;
  spec: ResetSpec;
  /** The instant datetime/duration specs looked up, epoch ms. */
  timestamp?: number;
  partitions: PlannedOffset[];
}

/** Group states in which nobody can commit over our offsets (the only ones Kafka's tool accepts). */
const INACTIVE_STATES = new Set(['Empty', 'Dead']);

/**
 * Refuses while the group has members: they hold their positions in memory and their next commit
 * would silently overwrite the reset. Names the members so the operator knows what to stop.
 */
export async function assertGroupInactive(admin: OffsetsAdmin, groupId: string): Promise<string> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  const state = group?.state ?? 'Dead';
  if (INACTIVE_STATES.has(state)) return state;
  const members = (group?.members ?? []).map((m) => `client id '${m.clientId}' on host ${m.clientHost.replace(/^\//, '')} (member ${m.memberId})`);
  throw new GroupActiveError(
    `group '${groupId}' is ${state} with ${members.length} live member(s): ${members.join(', ') || 'none listed'}. ` +
      'Stop these consumers first: offsets can only be reset while the group is inactive (Empty), ' +
      'because a live member would overwrite them with its next commit.',
    { groupId, state, members },
  );
}

/** Resolves the partitions to reset, checking every named topic and partition exists. */
async function partitionsToReset(admin: OffsetsAdmin, groupId: string, scope: ResetRequest['scope']): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  if (scope === 'all') {
    // Matches Kafka: --all-topics means the partitions the group has committed offsets for,
    // not every partition of those topics.
    const committed = await admin.fetchOffsets({ groupId });
    for (const { topic, partitions } of committed) {
      const withOffset = partitions.filter((p) => Number(p.offset) >= 0).map((p) => p.partition);
      if (withOffset.length) result.set(topic, withOffset.sort((a, b) => a - b));
    }
    if (result.size === 0) {
      throw new NothingToResetError(`group '${groupId}' has no committed offsets, so --all-topics selects nothing; name the topics with --topic`, {
        groupId,
      });
    }
    return result;
  }

  // Checked up front against the topic list: kafkajs would otherwise retry an unknown topic for
  // several seconds and then fail with a bare protocol error.
  const existing = new Set(await admin.listTopics());
  const unknown = scope.filter((s) => !existing.has(s.topic)).map((s) => s.topic);
  if (unknown.length) {
    throw new UnknownTopicError(`unknown topic${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (not on the cluster)`, { topics: unknown });
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: scope.map((s) => s.topic) });
  const missing: string[] = [];
  for (const selection of scope) {
    const present = topics.find((t) => t.name === selection.topic)?.partitions.map((p) => p.partitionId).sort((a, b) => a - b) ?? [];
    const wanted = selection.partitions ?? present;
    missing.push(...wanted.filter((p) => !present.includes(p)).map((p) => `${selection.topic}:${p} (it has ${present.length})`));
    result.set(selection.topic, wanted);
  }
  if (missing.length) throw new UnknownTopicError(`unknown partition${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, { partitions: missing });
  return result;
}

/** Reads the group's committed offsets and each partition's log range, then computes the plan. */
export async function planReset(admin: OffsetsAdmin, request: ResetRequest): Promise<ResetPlan> {
  const groupState = await assertGroupInactive(admin, request.groupId);
  const selected = await partitionsToReset(admin, request.groupId, request.scope);
  const topics = [...selected.keys()];
  const { spec } = request;
  const timestamp =
    spec.kind === 'datetime' ? spec.timestamp : spec.kind === 'duration' ? (request.now ?? Date.now)() - spec.durationMs : undefined;

  const committed = await admin.fetchOffsets({ groupId: request.groupId, topics });
  const partitions: PartitionOffsets[] = [];
  for (const topic of topics) {
    const [watermarks, byTimestamp] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      timestamp === undefined ? undefined : rawOffsetsForTimestamp(admin, topic, timestamp),
    ]);
    const topicCommitted = committed.find((t) => t.topic === topic)?.partitions ?? [];
    for (const partition of selected.get(topic) ?? []) {
      const marks = watermarks.find((w) => w.partition === partition);
      if (!marks) throw new KafkaRequestError(`the broker returned no log offsets for ${topic}:${partition}`, { topic, partition });
      const current = Number(topicCommitted.find((c) => c.partition === partition)?.offset ?? -1);
      const entry: PartitionOffsets = {
        topic,
        partition,
        current: current >= 0 ? current : null,
        earliest: Number(marks.low),
        latest: Number(marks.high),
      };
      if (byTimestamp) entry.atTimestamp = byTimestamp.get(partition) ?? null;
      partitions.push(entry);
    }
  }
  return {
    groupId: request.groupId,
    groupState,
    spec,
    ...(timestamp === undefined ? {} : { timestamp }),
    partitions: computeNewOffsets(partitions, spec),
  };
}

/**
 * kafkajs' fetchTopicOffsetsByTimestamp already substitutes the log end when no record is that
 * new; comparing with the log end tells those partitions apart again (a real answer always points
 * at a record, so it is below the end) so the table can say why the group lands at the end.
 */
async function rawOffsetsForTimestamp(admin: OffsetsAdmin, topic: string, timestamp: number): Promise<Map<number, number | null>> {
  const [found, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, timestamp), admin.fetchTopicOffsets(topic)]);
  const result = new Map<number, number | null>();
  for (const { partition, offset } of found) {
    const end = ends.find((e) => e.partition === partition)?.high;
    result.set(partition, Number(offset) >= 0 && offset !== end ? Number(offset) : null);
  }
  return result;
}

/**
 * Commits the plan. The group is checked again right before writing: a consumer may have joined
 * while the operator read the dry run, and kafkajs' setOffsets refuses a live group as well.
 */
export async function applyPlan(admin: OffsetsAdmin, plan: ResetPlan): Promise<void> {
  await assertGroupInactive(admin, plan.groupId);
  const byTopic = new Map<string, PlannedOffset[]>();
  for (const p of plan.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  for (const [topic, partitions] of byTopic) {
    await admin.setOffsets({
      groupId: plan.groupId,
      topic,
      partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.newOffset) })),
    });
  }
}
