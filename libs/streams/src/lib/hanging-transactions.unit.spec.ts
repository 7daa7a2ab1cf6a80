import { coordinatorFate, openTransactions } from './hanging-transactions';
import { decodeDescribeTransactions, describeTransactionsRequest, type RawRecord } from './kafka-wire';

const data = (offset: number, producerId: string, producerEpoch = 0, inTransaction = true): RawRecord => ({
  offset: String(offset),
  isControlRecord: false,
  key: Buffer.from('k'),
  batchContext: { producerId, producerEpoch, inTransaction },
});
const marker = (offset: number, producerId: string, producerEpoch = 0): RawRecord => ({
  offset: String(offset),
  isControlRecord: true,
  key: Buffer.from([0, 0, 0, 1]),
  batchContext: { producerId, producerEpoch, inTransaction: true },
});

describe('openTransactions', () => {
  it('finds nothing open when every transaction ends with its marker', () => {
    expect(openTransactions([data(0, 'p1'), data(1, 'p1'), marker(2, 'p1'), data(3, 'p2'), marker(4, 'p2')])).toEqual(new Map());
  });

  it('names the first record after a producer’s last marker, with its epoch', () => {
    const open = openTransactions([data(0, 'p1', 3), marker(1, 'p1', 3), data(2, 'p1', 3), data(3, 'p2'), data(4, 'p1', 4), marker(5, 'p2')]);
    expect(open).toEqual(new Map([['p1', { firstOffset: 2n, producerEpoch: 3 }]]));
  });

  it('ignores records written outside transactions', () => {
    expect(openTransactions([data(0, '-1', 0, false), data(1, '7', 0, false)])).toEqual(new Map());
  });
});

describe('coordinatorFate', () => {
  it.each([
    ['CompleteCommit', 'commit'],
    ['PrepareCommit', 'commit'],
    ['CompleteAbort', 'abort'],
    ['PrepareAbort', 'abort'],
    ['Empty', undefined],
    ['Ongoing', undefined],
    ['PrepareEpochFence', undefined],
    ['Dead', undefined],
    [undefined, undefined],
  ] as const)('%s → %s', (state, fate) => {
    expect(coordinatorFate(state)).toBe(fate);
  });
});

describe('DescribeTransactions v0 on the wire', () => {
  it('encodes a flexible request body behind kafkajs’s v1 header (tagged fields first)', async () => {
    const request = describeTransactionsRequest(['tx-1']);
    expect(request.apiKey).toBe(65);
    const { buffer } = await request.encode();
    // header tagged fields (0), compact array of 1 (2), compact string "tx-1" (5 + bytes), body tagged fields (0)
    expect([...buffer]).toEqual([0, 2, 5, ...Buffer.from('tx-1'), 0]);
  });

  it('decodes a response as the broker writes it', () => {
    const compact = (s: string) => Buffer.concat([Buffer.from([s.length + 1]), Buffer.from(s)]);
    const int16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
    const int32 = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(v);
      return b;
    };
    const int64 = (v: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(v);
      return b;
    };
    const payload = Buffer.concat([
      Buffer.from([0]), // response header tagged fields
      int32(0), // throttle
      Buffer.from([2]), // one state
      int16(0),
      compact('tx-1'),
      compact('CompleteCommit'),
      int32(60_000),
      int64(-1n),
      int64(4242n),
      int16(7),
      Buffer.from([2]), // one topic
      compact('shipment.events'),
      Buffer.from([3]),
      int32(1),
      int32(5),
      Buffer.from([0]), // topic tagged fields
      Buffer.from([0]), // state tagged fields
      Buffer.from([0]), // body tagged fields
    ]);
    expect(decodeDescribeTransactions(payload)).toEqual([
      { errorCode: 0, transactionalId: 'tx-1', state: 'CompleteCommit', producerId: '4242', producerEpoch: 7, topics: [{ topic: 'shipment.events', partitions: [1, 5] }] },
    ]);
  });
});
