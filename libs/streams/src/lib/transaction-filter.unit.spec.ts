import type { Batch, KafkaMessage } from 'kafkajs';
import { committedMessages } from './transaction-filter';

type Raw = KafkaMessage & { isControlRecord: boolean; batchContext: { producerId: string; inTransaction: boolean } };

const data = (offset: number, producerId: string, inTransaction = true): Raw => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(`v${offset}`),
  timestamp: '0',
  attributes: 0,
  headers: {},
  isControlRecord: false,
  batchContext: { producerId, inTransaction },
});
const marker = (offset: number, producerId: string, type: 'commit' | 'abort'): Raw => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === 'commit' ? 1 : 0, 2);
  return { ...data(offset, producerId), key, value: null, isControlRecord: true };
};
// What kafkajs's own (buggy) filter produced is irrelevant here; `messages` stands in for it.
const batchOf = (raw: Raw[], kafkajsView: KafkaMessage[] = []) => ({ messages: kafkajsView, messagesWithinOffset: raw }) as unknown as Batch;
const offsets = (messages: KafkaMessage[]) => messages.map((m) => Number(m.offset));

describe('committedMessages', () => {
  it('drops both of two interleaved aborted transactions and keeps committed and plain records', () => {
    // The fetch resumes inside A and B, both aborted: kafkajs activates only A at offset 10 and leaks B's 11.
    const raw = [data(10, 'A'), data(11, 'B'), data(12, 'C', false), marker(13, 'A', 'abort'), marker(14, 'B', 'abort'), data(15, 'B'), marker(16, 'B', 'commit')];
    expect(committedMessages(batchOf(raw))).toEqual({ messages: [raw[2], raw[5]], complete: true });
  });

  it('stops before a transactional record whose marker is beyond the fetch', () => {
    const raw = [data(1, 'A'), marker(2, 'A', 'commit'), data(3, 'B'), data(4, 'C', false)];
    const result = committedMessages(batchOf(raw));
    expect(offsets(result.messages)).toEqual([1]);
    expect(result).toMatchObject({ complete: false, resumeAt: '3' });
  });

  it("never falls back to kafkajs's view, even when not the first record can be decided", () => {
    const kafkajsView = [data(3, 'B')];
    expect(committedMessages(batchOf([data(3, 'B')], kafkajsView))).toEqual({ messages: [], complete: false, resumeAt: '3' });
  });
});
