import { LEDGER_TOPICS, type LedgerTopic } from './documents';
import { InvalidQueryError } from './errors';

/** Next offset to read, per logical topic and partition: `{ 'shipment.events': { '0': '42' } }`. */
export type ReflectedOffsets = Partial<Record<LedgerTopic, Record<string, string>>>;

/** The offsets hash (`<topic>:<partition>` → next offset) grouped by topic, partitions in numeric order. */
export function groupOffsets(hash: Record<string, string>): ReflectedOffsets {
  const out: ReflectedOffsets = {};
  const fields = Object.keys(hash)
    .map((field) => ({ field, at: field.lastIndexOf(':') }))
    .map(({ field, at }) => ({ field, topic: field.slice(0, at) as LedgerTopic, partition: Number(field.slice(at + 1)) }))
    .filter(({ topic, partition }) => (LEDGER_TOPICS as readonly string[]).includes(topic) && Number.isInteger(partition))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  for (const { field, topic, partition } of fields) (out[topic] ??= {})[String(partition)] = hash[field];
  return out;
}

/** A record position a reader wants reflected before it reads. */
export interface WaitPosition {
  topic: LedgerTopic;
  partition: number;
  offset: bigint;
}

/**
 * Parses `waitFor` values: each `<topic>:<partition>:<offset>` (repeated or comma-separated). The
 * topic may be logical (`shipment.outcomes`) or physical (`<TOPIC_PREFIX>shipment.outcomes`, what
 * shipment-handler's `position.topic` says), and must be one `readsFrom`, the topics the read's
 * data is projected from: the topics are projected independently, so having passed a position on
 * another topic says nothing about this data, and such a wait would be a promise it cannot keep.
 */
export function parseWaitFor(
  values: readonly string[],
  topicPrefix = '',
  readsFrom: readonly LedgerTopic[] = LEDGER_TOPICS,
  /** How many partitions a topic has, when known: a position on one it does not have is refused at once. */
  partitionsOf: (topic: LedgerTopic) => number | undefined = () => undefined,
): WaitPosition[] {
  const parts = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (parts.length > 50) throw new InvalidQueryError('waitFor', 'at most 50 positions');
  return parts.map((part) => {
    const match = /^(.+):(\d{1,9}):(\d{1,19})$/.exec(part);
    if (!match) throw new InvalidQueryError('waitFor', `"${part}" is not <topic>:<partition>:<offset>`);
    const [, named, partition, offset] = match;
    const topic = named.startsWith(topicPrefix) && (LEDGER_TOPICS as readonly string[]).includes(named.slice(topicPrefix.length)) ? named.slice(topicPrefix.length) : named;
    if (!(LEDGER_TOPICS as readonly string[]).includes(topic)) {
      throw new InvalidQueryError('waitFor', `"${named}" is not a topic the ledger reads (${LEDGER_TOPICS.join(', ')})`);
    }
    if (!(readsFrom as readonly string[]).includes(topic)) {
      const hint = topic === 'shipment.outcomes' ? "; to read a shipment after a command, pass the answer's readToken instead" : '';
      throw new InvalidQueryError('waitFor', `"${part}" is on ${topic}, but this read is projected from ${readsFrom.join(', ')} only: waiting for it cannot make the answer any fresher${hint}`);
    }
    const partitions = partitionsOf(topic as LedgerTopic);
    if (partitions !== undefined && Number(partition) >= partitions) {
      throw new InvalidQueryError('waitFor', `"${part}": ${topic} has no partition ${partition} (it has ${partitions}, 0 to ${partitions - 1}); no record will ever be there`);
    }
    return { topic: topic as LedgerTopic, partition: Number(partition), offset: BigInt(offset) };
  });
}

/** True when the record at `position` is reflected: the stored next offset is past it. */
export function isReflected(offsets: ReflectedOffsets, position: WaitPosition): boolean {
  const next = offsets[position.topic]?.[String(position.partition)];
  return next !== undefined && BigInt(next) > position.offset;
}
