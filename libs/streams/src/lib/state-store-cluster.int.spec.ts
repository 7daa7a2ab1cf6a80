import type { Cluster } from 'ioredis';
import { testEnvironment } from '@waybill/devstack';
import { counterStore, type CounterState } from '../../test-fixtures/counter';
import { RedisStateStore, storeKeys } from './state-store';

// Issue 18, Redis Cluster: a state store's commit (a Lua script over its partition's two hashes),
// its checked read (MULTI/EXEC) and its wipe (one DEL of both) each touch one hash slot, so they
// run on a real three-master cluster (the one the integration run's global setup starts with
// libs/devstack startRedisCluster) as on one Redis; the partitions spread over the masters.

const PARTITIONS = 12;

describe('RedisStateStore on a three-master Redis Cluster', () => {
  const env = testEnvironment();
  const client: Cluster = env.redisCluster();
  afterAll(() => env.cleanup());

  it('is a real cluster: a script over keys of two slots is refused', async () => {
    await expect(client.eval("return redis.call('GET', KEYS[1])", 2, 'a', 'b')).rejects.toThrow(/CROSSSLOT/);
  });

  it('keeps a partition in one slot, and the partitions on every master', async () => {
    const slotOwners = new Map<number, string>();
    for (const [from, to, master] of await client.cluster('SLOTS')) {
      for (let slot = from; slot <= to; slot += 1) slotOwners.set(slot, `${master[0]}:${master[1]}`);
    }
    const mastersUsed = new Set<string>();
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      const { state, meta } = storeKeys('shipment-reducer', 'shipments', partition);
      const [stateSlot, metaSlot] = [await client.cluster('KEYSLOT', state), await client.cluster('KEYSLOT', meta)] as number[];
      expect(stateSlot).toBe(metaSlot);
      mastersUsed.add(String(slotOwners.get(stateSlot)));
    }
    expect(mastersUsed.size).toBe(3);
  });

  it('commits, reads back checked, refuses a stale writer and wipes, partition by partition', async () => {
    const store = new RedisStateStore<CounterState>(client, env.uniqueName('cluster-test'), counterStore('events'));
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      const states = new Map<string, CounterState>([
        [`k${partition}`, { count: 1, version: 1 }],
        [`j${partition}`, { count: 2, version: 2 }],
      ]);
      expect(await store.commit(partition, undefined, '10', states)).toBe(true);
    }
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      const read = await store.getManyChecked(partition, [`k${partition}`, `j${partition}`, 'absent'], '10');
      expect(read && Object.fromEntries(read)).toEqual({ [`k${partition}`]: { count: 1, version: 1 }, [`j${partition}`]: { count: 2, version: 2 }, absent: undefined });
      expect(await store.readMeta(partition)).toEqual({ changelogOffset: '10', shapeVersion: 1 });
    }
    // A writer that last saw no meta (a zombie) cannot roll the store back; one that saw 10 moves it on.
    expect(await store.commit(3, undefined, '5', new Map([['k3', { count: 9, version: 9 }]]))).toBe(false);
    expect(await store.commit(3, '10', '11', new Map([['k3', { count: 3, version: 3 }]]))).toBe(true);
    expect(await store.getManyChecked(3, ['k3'], '10')).toBeUndefined();
    expect(await store.get(3, 'k3')).toEqual({ count: 3, version: 3 });

    await store.wipe(3);
    expect(await store.readMeta(3)).toBeUndefined();
    expect(await store.hasState(3)).toBe(false);
    expect(await store.hasState(4)).toBe(true);
  });
});
