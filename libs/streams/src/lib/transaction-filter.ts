import type { Batch, KafkaMessage } from 'kafkajs';

/** What {@link committedMessages} keeps of a fetched batch. */
export interface CommittedMessages {
  /** The batch's committed records, in offset order, up to the first one whose fate is not in this fetch. */
  messages: KafkaMessage[];
  /** True when the whole batch was decided; false when it stops early (the rest is fetched again). */
  complete: boolean;
  /** When not complete: the offset of the first undecided record, where the consumer must resume. */
  resumeAt?: string;
}

type RawMessage = KafkaMessage & {
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
};

const ABORT = 0;

/**
 * Decides which records of a read_committed batch are committed from the transaction markers in
 * the fetch itself, instead of trusting kafkajs's filter.
 *
 * NOTE: kafkajs 2.2.4 (consumer/filterAbortedMessages.js) activates at most one aborted
 * transaction per message it walks. When two producers' aborted transactions both start at or
 * before one message (a fetch that resumes inside interleaved transactions: several transactional
 * writers on one partition, or a crashed reducer's open transactions aborted together), a record
 * of the second one is delivered, and a late activation can hide that producer's next committed
 * records. Here every transactional record is judged by the next control record of its own
 * producer: an abort marker (control type 0) drops it, a commit marker keeps it. A record whose
 * marker lies beyond this fetch (a fetch bounded by the last stable offset while other producers'
 * transactions are still being aborted) ends the result; the consumer fetches from there again.
 * kafkajs's view is never used as a fallback: that is where the bug lives.
 */
export function committedMessages(batch: Batch): CommittedMessages {
  const raw = (batch as unknown as { messagesWithinOffset?: RawMessage[] }).messagesWithinOffset;
  if (!raw) return { messages: batch.messages, complete: true };

  const verdicts: Array<'keep' | 'drop' | 'unknown'> = new Array(raw.length);
  const nextMarker = new Map<string, number>();
  for (let i = raw.length - 1; i >= 0; i -= 1) {
    const message = raw[i];
    const producerId = message.batchContext?.producerId ?? '';
    if (message.isControlRecord) {
      const key = message.key;
      nextMarker.set(producerId, key && key.length >= 4 ? key.readInt16BE(2) : -1);
      verdicts[i] = 'drop';
    } else if (!message.batchContext?.inTransaction) {
      verdicts[i] = 'keep';
    } else {
      const marker = nextMarker.get(producerId);
      verdicts[i] = marker === undefined ? 'unknown' : marker === ABORT ? 'drop' : 'keep';
    }
  }

  const messages: KafkaMessage[] = [];
  for (let i = 0; i < raw.length; i += 1) {
    if (verdicts[i] === 'unknown') return { messages, complete: false, resumeAt: raw[i].offset };
    if (verdicts[i] === 'keep') messages.push(raw[i]);
  }
  return { messages, complete: true };
}
