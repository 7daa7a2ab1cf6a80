import type { Admin } from 'kafkajs';
import { TOPICS } from '@waybill/contracts';
import { storeKeys } from '@waybill/streams';
import { GroupActiveError, UsageError } from '../errors';
import { assertGroupInactive } from './group-offsets';
import { scanKeys, unlinkKeys, type RedisClient } from '@waybill/platform';

/** A reducer whose Redis state store layout the CLI knows (libs/streams RedisStateStore). */
export interface KnownStore {
  /** The app's consumer group and its state-store key prefix, before TOPIC_PREFIX. */
  app: string;
  /** Store names: keys are `{${TOPIC_PREFIX}${app}:${store}:<partition>}:state|meta` (libs/streams storeKeys). */
  stores: string[];
  /** The store's changelog, which the reducer restores from on assignment. */
  changelog: string;
}

export const KNOWN_STORES: Record<string, KnownStore> = {
  'shipment-reducer': { app: 'shipment-reducer', stores: ['shipments'], changelog: TOPICS.shipmentEvents },
};

export interface StorePartition {
  store: string;
  partition: number;
  /** Aggregates held (HLEN of the state hash). */
  states: number;
  /** The changelog offset the store said it had applied, if any. */
  changelogOffset: string | null;
  keys: string[];
}

export interface StorePlan {
  app: string;
  groupId: string;
  groupState: string;
  changelog: string;
  partitions: StorePartition[];
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function knownStore(app: string): KnownStore {
  const known = KNOWN_STORES[app];
  if (!known) {
    const note = app === 'account-reducer' ? ' (its state-store layout is not settled yet; it is added here once the app lands)' : '';
    throw new UsageError('--app', `'${app}' is not an app with a state store this CLI knows${note}; known: ${Object.keys(KNOWN_STORES).join(', ')}`);
  }
  return known;
}

/** Refuses while the reducer's group has live members; lists what the store holds per partition. */
export async function planStoreRebuild(admin: Admin, redis: RedisClient, topicPrefix: string, app: string): Promise<StorePlan> {
  const known = knownStore(app);
  const groupId = topicPrefix + known.app;
  let groupState: string;
  try {
    groupState = await assertGroupInactive(admin, groupId);
  } catch (error) {
    if (!(error instanceof GroupActiveError)) throw error;
    // A running reducer would decide on an empty store: there is no --force for this one.
    throw new GroupActiveError(`${error.message.replace(/ Stop these consumers first:.*$/, '')} Stop ${known.app} first: it must not decide commands on a store being wiped.`, error.context);
  }
  const partitions: StorePartition[] = [];
  for (const store of known.stores) {
    const base = `${topicPrefix}${known.app}:${store}:`;
    // The store's keys, and those of the layout before the cluster hash tags (2026-12-02), which a
    // store left behind on upgrading: a rebuild deletes both.
    const layouts = [
      { match: `${escapeGlob(`{${base}`)}*`, shape: new RegExp(`^\\{${escapeRegExp(base)}(\\d+)\\}:(state|meta)$`) },
      { match: `${escapeGlob(base)}*`, shape: new RegExp(`^${escapeRegExp(base)}(\\d+):(state|meta)$`) },
    ];
    const byPartition = new Map<number, string[]>();
    for (const layout of layouts) {
      for (const key of await scanKeys(redis, layout.match)) {
        const match = layout.shape.exec(key);
        if (!match) continue;
        const p = Number(match[1]);
        const keys = byPartition.get(p) ?? [];
        if (!keys.includes(key)) keys.push(key);
        byPartition.set(p, keys);
      }
    }
    for (const [partition, keys] of [...byPartition].sort(([a], [b]) => a - b)) {
      const current = storeKeys(`${topicPrefix}${known.app}`, store, partition);
      const states = await redis.hlen(current.state);
      const changelogOffset = await redis.hget(current.meta, 'changelogOffset');
      partitions.push({ store, partition, states, changelogOffset, keys: keys.sort() });
    }
  }
  return { app: known.app, groupId, groupState, changelog: topicPrefix + known.changelog, partitions };
}

/** Deletes the planned store keys, checking the group is still idle right before. */
export async function wipeStore(admin: Admin, redis: RedisClient, plan: StorePlan): Promise<number> {
  await assertGroupInactive(admin, plan.groupId);
  return unlinkKeys(redis, plan.partitions.flatMap((p) => p.keys));
}
