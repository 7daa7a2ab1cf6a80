import { KafkaJSError } from 'kafkajs';
import type { Logger } from '@waybill/platform';
import { ThrottledOffsetCommits, type GroupOffset } from './throttled-offset-commits';

const quietLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

function committer(intervalMs: number, fail?: () => Error | undefined) {
  const requests: GroupOffset[][] = [];
  const commits = new ThrottledOffsetCommits({
    commit: async (offsets) => {
      const error = fail?.();
      if (error) throw error;
      requests.push(offsets);
    },
    intervalMs,
    logger: quietLogger,
  });
  return { commits, requests };
}

describe('ThrottledOffsetCommits', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('commits a partition at once, then what arrives within the interval in one request for every waiting partition', async () => {
    const { commits, requests } = committer(1_000);
    await commits.record('t', 0, '5');
    await commits.record('t', 1, '7');
    expect(requests).toEqual([[{ topic: 't', partition: 0, offset: '5' }], [{ topic: 't', partition: 1, offset: '7' }]]);

    jest.advanceTimersByTime(200);
    await commits.record('t', 0, '6');
    await commits.record('t', 0, '9');
    await commits.record('t', 1, '8');
    expect(requests).toHaveLength(2);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(requests).toHaveLength(3);
    expect(requests[2]).toEqual([
      { topic: 't', partition: 0, offset: '9' },
      { topic: 't', partition: 1, offset: '8' },
    ]);
  });

  it('commits at once again when a partition last committed longer ago than the interval', async () => {
    const { commits, requests } = committer(1_000);
    await commits.record('t', 0, '1');
    jest.advanceTimersByTime(1_001);
    await commits.record('t', 0, '2');
    expect(requests.map((r) => r[0].offset)).toEqual(['1', '2']);
  });

  it('commits every offset at once with an interval of 0', async () => {
    const { commits, requests } = committer(0);
    for (const offset of ['1', '2', '3']) await commits.record('t', 0, offset);
    expect(requests).toHaveLength(3);
  });

  it('never commits an offset that waited through a new assignment', async () => {
    const { commits, requests } = committer(1_000);
    await commits.record('t', 0, '1');
    await commits.record('t', 0, '2');
    commits.clear();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(requests.map((r) => r[0].offset)).toEqual(['1']);
  });

  it('commits what waits on stop, and nothing after it', async () => {
    const { commits, requests } = committer(1_000);
    await commits.record('t', 0, '1');
    await commits.record('t', 0, '2');
    await commits.stop();
    expect(requests.map((r) => r[0].offset)).toEqual(['1', '2']);
    await commits.record('t', 0, '3');
    await jest.advanceTimersByTimeAsync(2_000);
    expect(requests).toHaveLength(2);
  });

  it('throws a rebalance error of a commit made at once, so the consumer rejoins, and keeps quiet about others', async () => {
    let error: Error | undefined = Object.assign(new KafkaJSError('The group is rebalancing', { retriable: false }), { type: 'REBALANCE_IN_PROGRESS' });
    const { commits, requests } = committer(1_000, () => error);
    await expect(commits.record('t', 0, '1')).rejects.toThrow('rebalancing');

    error = new Error('connection closed');
    await expect(commits.record('t', 1, '1')).resolves.toBeUndefined();

    error = undefined;
    jest.advanceTimersByTime(1_001);
    await commits.record('t', 1, '2');
    expect(requests).toEqual([[{ topic: 't', partition: 1, offset: '2' }]]);
  });
});
