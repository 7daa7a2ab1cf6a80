import type { Producer } from 'kafkajs';
import { createSerde, kafkajsRegistryClient, prefixedTopics, TOPICS, type TransactionRecorded } from '@waybill/contracts';
import { apiKeysSpec, DEMO_KEYS, REDIS_KINDS, testEnvironment, type TestEnvironment } from '@waybill/devstack';
import { createLogger, loadConfig, scanKeys, unlinkKeys, type RedisClient, type ShutdownStep } from '@waybill/platform';
import { configSchema } from './config';
import { archiveEntriesBefore } from './history-window';
import { readModelKeys } from './read-model';
import { start } from './wiring';

const FINANCE_KEY = DEMO_KEYS.find((k) => k.role === 'finance')?.key ?? '';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const ACCOUNTS = ['ACC-1', 'ACC-2', 'ACC-3', 'ACC-4', 'ACC-5', 'ACC-6'];
const PARTITIONS = 3;

function transaction(accountId: string, version: number, amountMinor: number): TransactionRecorded {
  return {
    eventId: `tx-${accountId}-${version}:0`,
    aggregateId: accountId,
    aggregateType: 'Account',
    version,
    traceId: `trace-${accountId}`,
    causationId: `cmd-${accountId}-${version}`,
    initiatedBy: 'accounting-listener',
    timestamp: T0 + version * 60_000,
    data: { transactionId: `tx-${accountId}-${version}`, accountId, kind: amountMinor < 0 ? 'Payment' : 'Charge', amountMinor, currency: 'EUR', reason: null, shipmentId: null, sourceEventId: null },
  };
}

// The balances on both Redis deployments: on the cluster each partition of accounting.transactions
// keeps its accounts in a slot of its own, and a read finds an account in whichever partition has it.
describe.each(REDIS_KINDS)('account-reducer on a %s Redis', (redisKind) => {
  let env: TestEnvironment;
  let prefix: string;
  let producer: Producer;
  let redis: RedisClient;
  let url: string;
  let shutdown: ShutdownStep[] = [];
  const expected = new Map<string, { balanceMinor: number; version: number }>();

  const get = async (path: string) => {
    const res = await fetch(url + path, { headers: { 'X-API-Key': FINANCE_KEY } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { items?: Array<{ version: number }> } };
  };
  const balancesMatch = async () => {
    for (const [accountId, want] of expected) {
      const { status, body } = await get(`/accounts/${accountId}`);
      if (status !== 200 || body.balanceMinor !== want.balanceMinor || body.version !== want.version) return false;
    }
    return true;
  };
  const eventually = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** The app on this Redis, in this process; `url` is where it answers. */
  const startApp = async (extraEnv: Record<string, string> = {}) => {
    const config = loadConfig(configSchema, {
      PORT: '0',
      KAFKA_BROKERS: env.brokers.join(','),
      ...env.redisEnvOf(redisKind),
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      API_KEYS: apiKeysSpec(),
      TOPIC_PREFIX: prefix,
      // The transactions are from 2025: the window stays off until the test about it.
      HISTORY_RETENTION_DAYS: '0',
      ...extraEnv,
    });
    const started = await start(config, createLogger('account-reducer-int', 'warn'), (err) => {
      throw err;
    });
    shutdown = started.shutdown;
    const address = started.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  };

  beforeAll(async () => {
    env = testEnvironment();
    prefix = `${env.uniqueName('balances')}.`;
    await env.createTopics([{ topic: prefixedTopics(prefix).accountingTransactions, partitions: PARTITIONS }]);
    producer = env.kafka.producer();
    await producer.connect();
    redis = env.redisOf(redisKind);
    const serde = createSerde({ registry: kafkajsRegistryClient(env.schemaRegistryUrl) });
    for (const [i, accountId] of ACCOUNTS.entries()) {
      let balanceMinor = 0;
      for (let version = 1; version <= 3; version += 1) {
        const amountMinor = version === 3 ? -(i + 1) * 100 : (i + 1) * 1000;
        balanceMinor += amountMinor;
        const value = await serde.encode(TOPICS.accountingTransactions, 'TransactionRecorded', transaction(accountId, version, amountMinor));
        await producer.send({ topic: prefix + TOPICS.accountingTransactions, acks: -1, messages: [{ key: accountId, value }] });
      }
      expected.set(accountId, { balanceMinor, version: 3 });
    }
    await startApp();
  });

  afterAll(async () => {
    for (const step of shutdown) await step.run();
    await producer?.disconnect();
    if (redis) await unlinkKeys(redis, await scanKeys(redis, readModelKeys(prefix).pattern));
    await env?.cleanup();
  });

  it('answers every balance and its transactions, whichever partition the account is on', async () => {
    await eventually(balancesMatch, 'every balance');
    const { body } = await get('/accounts/ACC-4/transactions');
    expect(body.items?.map((t) => t.version)).toEqual([3, 2, 1]);
    expect((await get('/accounts/NOPE')).status).toBe(404);
  });

  it("keeps each account in its partition's hash slot, over more than one partition", async () => {
    const keys = await scanKeys(redis, readModelKeys(prefix).pattern);
    const tags = new Set(keys.map((k) => /^\{([^}]*)\}:/.exec(k)?.[1]));
    expect([...tags].every((tag) => tag !== undefined && new RegExp(`^${prefix.replace(/[.-]/g, '\\$&')}account-reducer:[0-${PARTITIONS - 1}]$`).test(tag))).toBe(true);
    expect(tags.size).toBeGreaterThan(1);
  });

  it('projects the balances again when Redis loses them under it', async () => {
    const keys = await scanKeys(redis, readModelKeys(prefix).pattern);
    expect(keys.length).toBeGreaterThan(0);
    await unlinkKeys(redis, keys);
    expect((await get('/accounts/ACC-1')).status).toBe(404);
    await eventually(balancesMatch, 'every balance again');
  });

  it('deletes the layout before the hash slots when it starts and finds it', async () => {
    const legacy = readModelKeys(prefix).legacy;
    await redis.hset(legacy.offsets, '0', '3');
    await redis.set(`${prefix}account-reducer:account:ACC-1`, '{"stale":true}');
    for (const step of shutdown) await step.run();
    await startApp();
    expect(await scanKeys(redis, legacy.pattern)).toEqual([]);
    await eventually(balancesMatch, 'every balance after the restart');
  });

  it('past the retention window answers every page and every as-of balance as before, from a compact archive and Kafka', async () => {
    const keys = readModelKeys(prefix);
    const partitions = [...Array(PARTITIONS).keys()];
    const pages = async (accountId: string) => {
      const seen: unknown[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const { status, body } = await get(`/accounts/${accountId}/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(status).toBe(200);
        seen.push(body);
        cursor = body.nextCursor as string | null;
      }
      return seen;
    };
    const instants = [T0, T0 + 60_000, T0 + 90_000, T0 + 120_000, T0 + 180_000, T0 + 3_600_000];
    const answers = async () => {
      const all: unknown[] = [];
      for (const accountId of ACCOUNTS) {
        all.push(await pages(accountId), (await get(`/accounts/${accountId}`)).body);
        for (const at of instants) all.push(await get(`/accounts/${accountId}?asOf=${new Date(at).toISOString()}`));
      }
      return all;
    };
    const listBytes = async () => {
      let bytes = 0;
      for (const p of partitions) for (const a of ACCOUNTS) for (const key of [keys.transactions(p, a), keys.archived(p, a)]) bytes += Number((await redis.memory('USAGE', key)) ?? 0);
      return bytes;
    };
    await eventually(balancesMatch, 'every balance');
    const before = await answers();
    const bytesBefore = await listBytes();

    // Halfway: versions 1 and 2 (booked before T0 + 2.5 min) leave the lists, version 3 stays, so
    // the first page of two is one live entry and one archived one.
    let moved = 0;
    for (const p of partitions) moved += await archiveEntriesBefore(redis, prefix, p, T0 + 150_000);
    expect(moved).toBe(ACCOUNTS.length * 2);
    expect(await answers()).toEqual(before);

    // The app's own window (one day; everything here is from 2025) takes the rest, and takes the
    // accounts out of its index when their lists are empty.
    for (const step of shutdown) await step.run();
    await startApp({ HISTORY_RETENTION_DAYS: '1', HISTORY_PRUNE_INTERVAL_MS: '200' });
    await eventually(async () => {
      for (const p of partitions) if ((await redis.zcard(keys.archivable(p))) > 0) return false;
      return true;
    }, 'the window archiving every entry');
    for (const p of partitions) for (const a of ACCOUNTS) expect(await redis.exists(keys.transactions(p, a))).toBe(0);
    expect(await answers()).toEqual(before);
    expect(await listBytes()).toBeLessThan(bytesBefore / 2);
    const metrics = await (await fetch(`${url}/metrics`, { headers: { 'X-API-Key': FINANCE_KEY } })).text();
    expect(metrics).toMatch(new RegExp(`waybill_account_archived_transactions_total(\\{[^}]*\\})? ${ACCOUNTS.length}\\b`));

    // A record the topic no longer holds: that page is unavailable, never shorter; the balance is not.
    const owner = (await Promise.all(partitions.map((p) => redis.exists(keys.archived(p, 'ACC-1'))))).indexOf(1);
    await redis.zadd(keys.archived(owner, 'ACC-1'), 0, '0|0|0|0|999999');
    const gone = await get('/accounts/ACC-1/transactions?limit=500');
    expect(gone.status).toBe(503);
    expect(gone.body.error).toBe('ARCHIVED_HISTORY_UNAVAILABLE');
    expect((await get('/accounts/ACC-1')).status).toBe(200);
  });
});
