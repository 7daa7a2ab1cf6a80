import { testEnvironment } from '@waybill/devstack';
import { applyBatch } from './apply-batch';
import { ReflectedOffsetLostError } from './errors';
import { ledgerKeys } from './keys';
import { offsetField } from './project';
import { asEvents, lifecycle, resetOffsets } from './fixtures.spec';

// Against a real Redis: the continuity guard keeps a batch from landing on a read model that
// lost what came before it (Redis restarted empty while the ledger kept its place in Kafka).
describe('applyBatch continuity guard', () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('refuses a batch whose partition Redis no longer reflects, and writes nothing', async () => {
    resetOffsets();
    const redis = env.redis();
    const keyPrefix = env.uniqueName('guard');
    const keys = ledgerKeys(keyPrefix);
    const field = offsetField('shipment.events', 0);
    const events = asEvents(lifecycle('SH-G'));
    const first = events.slice(0, 4);
    const rest = events.slice(4);

    await applyBatch(redis, keyPrefix, first, { guard: { field, reflectedAtLeast: '0', allowMissing: true }, marks: [{ topic: 'shipment.events', partition: 0, next: '4' }] });
    expect(await redis.hget(keys.offsets, field)).toBe('4');

    // The next batch continues where the first ended: accepted.
    await applyBatch(redis, keyPrefix, rest.slice(0, 1), { guard: { field, reflectedAtLeast: '4', allowMissing: false } });
    expect(await redis.hget(keys.offsets, field)).toBe('5');

    // Redis loses the read model (every key of this prefix), then the batch after arrives.
    const written = await redis.keys(`${keyPrefix}*`);
    await redis.del(...written);
    await expect(applyBatch(redis, keyPrefix, rest.slice(1), { guard: { field, reflectedAtLeast: '5', allowMissing: false } })).rejects.toBeInstanceOf(ReflectedOffsetLostError);
    expect(await redis.keys(`${keyPrefix}*`)).toEqual([]);

    // A store that reflects less than where the batch starts is refused too.
    await redis.hset(keys.offsets, field, '2');
    await expect(applyBatch(redis, keyPrefix, rest.slice(1), { guard: { field, reflectedAtLeast: '5', allowMissing: false } })).rejects.toBeInstanceOf(ReflectedOffsetLostError);
    expect(await redis.hget(keys.offsets, field)).toBe('2');
  });
});
