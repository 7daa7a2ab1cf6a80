import { testEnvironment } from '@waybill/devstack';
import { writeProjection, type OffsetAdvance } from '../index';

// Against a real Redis: the offset compare-and-set and the plan's preconditions decide, inside
// one script, whether anything of a chunk is written.
describe('writeProjection', () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('moves the offset only from exactly the expected value, and writes nothing when it is not', async () => {
    const redis = env.redis();
    const prefix = env.uniqueName('write');
    const offsetsKey = `${prefix}:offsets`;
    const advance = (expected: string | null, next: string): OffsetAdvance => ({ offsetsKey, field: 'p0', expected, next });
    const plan = (n: number) => ({ expect: [], writes: [{ op: 'hincrby' as const, key: `${prefix}:count`, field: 'n', by: n }] });

    // Nothing stored yet: only a writer that expects nothing may write.
    expect(await writeProjection(redis, plan(1), advance('0', '1'))).toBe('lost');
    expect(await redis.exists(`${prefix}:count`)).toBe(0);
    expect(await writeProjection(redis, plan(1), advance(null, '3'))).toBe('written');
    expect(await redis.hget(offsetsKey, 'p0')).toBe('3');

    // The next chunk continues where the first ended.
    expect(await writeProjection(redis, plan(2), advance('3', '5'))).toBe('written');
    expect(await redis.hget(`${prefix}:count`, 'n')).toBe('3');

    // Another owner moved the partition on, or it went back (a Redis restored from an old dump), or
    // Redis lost it: each refuses the stale writer, and nothing of its chunk lands.
    for (const stored of ['7', '4', null]) {
      if (stored === null) await redis.hdel(offsetsKey, 'p0');
      else await redis.hset(offsetsKey, 'p0', stored);
      expect(await writeProjection(redis, plan(100), advance('5', '6'))).toBe('lost');
      expect(await redis.hget(`${prefix}:count`, 'n')).toBe('3');
      expect(await redis.hget(offsetsKey, 'p0')).toBe(stored);
    }
  });

  it('answers conflict when a value the plan read changed, and applies every op when none did', async () => {
    const redis = env.redis();
    const prefix = env.uniqueName('expect');
    const doc = `${prefix}:doc`;
    await redis.set(doc, 'v1');
    const writes = [
      { op: 'set' as const, key: doc, value: 'v2' },
      { op: 'zadd' as const, key: `${prefix}:feed`, score: 1_700_000_000_123, member: 'a' },
      { op: 'hmax' as const, key: `${prefix}:max`, field: 'f', value: '9' },
      { op: 'hmax' as const, key: `${prefix}:max`, field: 'f', value: '4' },
    ];
    expect(await writeProjection(redis, { expect: [[doc, 'v0']], writes })).toBe('conflict');
    expect(await writeProjection(redis, { expect: [[`${prefix}:absent`, 'x']], writes })).toBe('conflict');
    expect(await redis.get(doc)).toBe('v1');
    expect(await writeProjection(redis, { expect: [[doc, 'v1'], [`${prefix}:absent`, null]], writes })).toBe('written');
    expect(await redis.get(doc)).toBe('v2');
    // Scores travel as strings: a 13-digit timestamp survives exactly.
    expect(await redis.zscore(`${prefix}:feed`, 'a')).toBe('1700000000123');
    expect(await redis.hget(`${prefix}:max`, 'f')).toBe('9');
  });

  it('zmin adds a member or lowers its score, and never raises it', async () => {
    const redis = env.redis();
    const key = `${env.uniqueName('zmin')}:oldest`;
    const zmin = (score: number, member: string) => ({ op: 'zmin' as const, key, score, member });
    expect(await writeProjection(redis, { expect: [], writes: [zmin(500, 'a'), zmin(900, 'b')] })).toBe('written');
    expect(await writeProjection(redis, { expect: [], writes: [zmin(700, 'a'), zmin(300, 'b')] })).toBe('written');
    expect(await redis.zrange(key, '0', '-1', 'WITHSCORES')).toEqual(['b', '300', 'a', '500']);
  });
});
