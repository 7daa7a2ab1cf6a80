import { NoCommittedOffsetError } from '../errors';
import type { ResetSpec } from './reset-spec';

/** Everything the broker told us about one partition, before deciding anything. */
export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** The group's committed offset, or null when the group never committed on this partition. */
  current: number | null;
  /** Log start offset: the oldest record still kept. */
  earliest: number;
  /** Log end offset: where the next record will be written. */
  latest: number;
  /**
   * For datetime and duration specs: the ListOffsets-by-timestamp answer, i.e. the first offset
   * whose record timestamp is ≥ the instant, or null when no record is that new.
   */
  atTimestamp?: number | null;
}

/** Why the new offset is not simply what the spec asked for. */
export type OffsetNote = 'clamped-to-earliest' | 'clamped-to-latest' | 'no-record-that-new';

export interface PlannedOffset {
  topic: string;
  partition: number;
  current: number | null;
  earliest: number;
  latest: number;
  newOffset: number;
  /** Records still to consume before and after the reset; null before when nothing was committed. */
  lagBefore: number | null;
  lagAfter: number;
  note?: OffsetNote;
}

/**
 * Kafka's checkOffsetsRange: an offset past the end becomes the end, one before the start
 * becomes the start. Committing an offset outside the log would make every consumer fall back to
 * auto.offset.reset, which is exactly the surprise a replay tool must not cause.
 */
export function clampToLog(requested: number, earliest: number, latest: number): { offset: number; note?: OffsetNote } {
  if (requested > latest) return { offset: latest, note: 'clamped-to-latest' };
  if (requested < earliest) return { offset: earliest, note: 'clamped-to-earliest' };
  return { offset: requested };
}

/** The new committed offset for one partition under `spec`. Pure: every input comes from `p`. */
export function computeNewOffset(p: PartitionOffsets, spec: ResetSpec): { offset: number; note?: OffsetNote } {
  switch (spec.kind) {
    case 'earliest':
      return { offset: p.earliest };
    case 'latest':
      return { offset: p.latest };
    case 'to-offset':
      return clampToLog(spec.offset, p.earliest, p.latest);
    case 'shift-by':
      // Kafka refuses to shift a partition with no committed offset rather than picking a base
      // (see NoCommittedOffsetError); computeNewOffsets checks this for all partitions up front.
      if (p.current === null) throw noCommittedOffset([p]);
      return clampToLog(p.current + spec.shift, p.earliest, p.latest);
    case 'datetime':
    case 'duration':
      if (p.atTimestamp === undefined) throw new Error(`no timestamp lookup for ${p.topic}-${p.partition}`);
      // ListOffsets answers -1 when every record is older than the instant; Kafka then uses the
      // log end, so the group resumes with the first record written after the reset.
      return p.atTimestamp === null ? { offset: p.latest, note: 'no-record-that-new' } : { offset: p.atTimestamp };
  }
}

/** Plans every partition, sorted by topic then partition, with the lag before and after. */
export function computeNewOffsets(partitions: readonly PartitionOffsets[], spec: ResetSpec): PlannedOffset[] {
  if (spec.kind === 'shift-by') {
    const missing = partitions.filter((p) => p.current === null);
    if (missing.length > 0) throw noCommittedOffset(missing);
  }
  return [...partitions]
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    .map((p) => {
      const { offset, note } = computeNewOffset(p, spec);
      return {
        topic: p.topic,
        partition: p.partition,
        current: p.current,
        earliest: p.earliest,
        latest: p.latest,
        newOffset: offset,
        lagBefore: p.current === null ? null : Math.max(0, p.latest - p.current),
        lagAfter: Math.max(0, p.latest - offset),
        ...(note ? { note } : {}),
      };
    });
}

function noCommittedOffset(missing: readonly PartitionOffsets[]): NoCommittedOffsetError {
  const names = missing.map((p) => `${p.topic}:${p.partition}`).join(', ');
  return new NoCommittedOffsetError(
    `cannot shift partitions with no committed offset (${names}): there is no current offset to shift from. ` +
      `Limit the reset to committed partitions with --topic topic:0,2, or use --reset-to-earliest / --reset-to-offset for them.`,
    { partitions: missing.map((p) => `${p.topic}:${p.partition}`) },
  );
}
