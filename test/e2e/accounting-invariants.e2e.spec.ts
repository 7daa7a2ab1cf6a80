import { randomUUID } from 'node:crypto';
import type { Message } from 'kafkajs';
import { TOPICS, type TransactionRecorded } from '@waybill/contracts';
import { call, pipeline, type Pipeline } from '../support/pipeline';

// A few hundred random shipments, corrections, payments and adjustments while the accounting
// listener, the command listener and the account-reducer are SIGKILLed and restarted at random,
// then a full rebuild of the balances. Afterwards every balance equals the sum of its
// transactions, which equals what the shipments, payments and adjustments imply, and no
// transactionId is on accounting.transactions twice. Scale with ACCOUNTING_INVARIANT_SHIPMENTS.

const SHIPMENTS = Number(process.env.ACCOUNTING_INVARIANT_SHIPMENTS ?? 500);
/** How long the apps are crashed at random (payments are spread over it). */
const CHAOS_MS = Number(process.env.ACCOUNTING_INVARIANT_CHAOS_MS ?? 30_000);
const ACCOUNTS = Math.max(3, Math.round(SHIPMENTS / 15));
const PAYMENTS = Math.round(SHIPMENTS / 3);
const CHAOS: readonly string[] = ['accounting-listener', 'accounting-command-listener', 'account-reducer'];

// A SIGKILLed member stays in its group until its session times out, and the restarted one waits
// for that rebalance: the shortest session the apps accept keeps the run short.
const envOf = (name: string): Record<string, string> =>
  name === 'accounting-handler' ? { OUTCOME_WAIT_MS: '3000' } : CHAOS.includes(name) ? { SESSION_TIMEOUT_MS: '6000' } : {};

type App = Awaited<ReturnType<Pipeline['start']>>;

// Seeded, so a failing run can be repeated (ACCOUNTING_INVARIANT_SEED).
const seed = Number(process.env.ACCOUNTING_INVARIANT_SEED ?? Date.now() % 100_000);
let rngState = seed;
const random = () => ((rngState = (rngState * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`accounting invariants under crashes (${SHIPMENTS} shipments, seed ${seed})`, () => {
  let p: Pipeline;
  const running = new Map<string, App>();

  beforeAll(async () => {
    p = await pipeline('acct-inv');
    const started = await Promise.all(['shipment-reducer', ...CHAOS].map((name) => p.start(name, envOf(name))));
    // After account-reducer: it finds it as ACCOUNT_REDUCER_URL, for balances.
    started.push(await p.start('accounting-handler', envOf('accounting-handler')));
    for (const app of started) running.set(app.name, app);
  }, 120_000);
  afterAll(() => p?.close());

  async function crash(name: string): Promise<void> {
    const app = running.get(name)!;
    app.service.kill('SIGKILL');
    await app.service.exited;
  }

  async function restart(name: string): Promise<void> {
    running.set(name, await p.start(name, envOf(name)));
  }

  const began = Date.now();
  const phase = (name: string) => process.stderr.write(`accounting invariants: ${name} at ${((Date.now() - began) / 1000).toFixed(1)} s\n`);

  it('keeps balances equal to their transactions and to what shipments, payments and adjustments imply', async () => {
    const accountIds = Array.from({ length: ACCOUNTS }, (_, i) => `INV-${i}`);
    const expected = new Map<string, number>(accountIds.map((id) => [id, 0]));
    const handler = running.get('accounting-handler')!;

    // 1. Shipment commands straight onto shipment.commands, in per-shipment order.
    const commands: Array<{ key: string; type: string; data: object; role: string }> = [];
    for (let i = 0; i < SHIPMENTS; i += 1) {
      const id = `SI-${i}`;
      const accountId = pick(accountIds);
      const unitPriceMinor = 100 + Math.floor(random() * 10_000);
      const quantity = 1 + Math.floor(random() * 3);
      const add = (type: string, data: object = {}, role = 'associate') => commands.push({ key: id, type, data, role });
      add('CreateShipment', {
        orderId: `O-${i}`,
        customerAccountId: accountId,
        currency: 'EUR',
        lines: [{ sku: 'SKU', quantity, unitPriceMinor }],
        destination: { name: 'N', street: 'S 1', city: 'C', postalCode: '1', country: 'NL' },
      });
      add('ReleaseForPicking');
      add('PickItem', { sku: 'SKU', quantity });
      add('CompletePicking');
      add('Pack', { packageCount: 1 });
      add('MarkReadyForShipping');
      add('Ship', { carrier: 'DHL', trackingNumber: `T-${i}` });
      let charged = true;
      // Corrections: out of Shipped reverses, back into Shipped charges again.
      const corrections = random() < 0.35 ? 1 + Math.floor(random() * 3) : 0;
      for (let c = 0; c < corrections; c += 1) {
        const toStatus: string = charged ? pick(['Packed', 'ReadyForShipping', 'Cancelled']) : 'Shipped';
        add('CorrectStatus', { toStatus, reason: `correction ${c}` }, 'supervisor');
        charged = toStatus === 'Shipped';
      }
      if (charged) expected.set(accountId, expected.get(accountId)! + quantity * unitPriceMinor);
    }
    const producer = p.env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages: Message[] = [];
    for (const [n, command] of commands.entries()) {
      const value = await p.serde.encode(TOPICS.shipmentCommands, command.type as never, {
        commandId: `inv-${n}-${randomUUID()}`,
        aggregateId: command.key,
        aggregateType: 'Shipment',
        expectedVersion: null,
        traceId: randomUUID(),
        causationId: null,
        initiatedBy: command.role === 'supervisor' ? 'sue.supervisor' : 'ana.associate',
        role: command.role,
        timestamp: Date.now(),
        data: command.data,
      } as never);
      messages.push({ key: command.key, value });
    }

    phase('shipment commands encoded');
    // 2. Chaos: one of the three accounting apps SIGKILLed and restarted every second or two.
    let chaos = true;
    let kills = 0;
    const chaosStarted = Date.now();
    const chaosLoop = (async () => {
      while (chaos) {
        await sleep(800 + random() * 1_500);
        if (!chaos) break;
        const victim = pick(CHAOS);
        await crash(victim);
        kills += 1;
        await sleep(random() * 500);
        await restart(victim);
      }
    })();

    for (let start = 0; start < messages.length; start += 500) {
      await producer.send({ topic: p.topics.shipmentCommands, messages: messages.slice(start, start + 500), acks: -1 });
    }
    await producer.disconnect();

    phase('shipment commands produced');
    // 3. Payments and adjustments once the accounts exist (an account opens with its first charge).
    const opened = await waitFor(async () => {
      const statuses = await Promise.all(accountIds.map(async (id) => (await call(handler, 'GET', `/accounts/${id}`, { role: 'finance' })).status));
      return statuses.every((s) => s === 200);
    }, 90_000);
    expect(opened).toBe(true);
    phase('accounts opened');
    const requests: Array<{ commandId: string; accountId: string; amountMinor: number }> = [];
    const plans = Array.from({ length: PAYMENTS }, (_, n) => {
      const accountId = pick(accountIds);
      const adjustment = random() < 0.3;
      const amount = 1 + Math.floor(random() * 5_000);
      const amountMinor = adjustment ? (random() < 0.5 ? amount : -amount) : amount;
      return { n, accountId, adjustment, amountMinor, retry: random() < 0.3 };
    });
    // Ten callers at a time; some retry with the same Idempotency-Key, which must book once.
    for (let start = 0; start < plans.length; start += 10) {
      await Promise.all(
        plans.slice(start, start + 10).map(async ({ n, accountId, adjustment, amountMinor, retry }) => {
          const path = `/accounts/${accountId}/${adjustment ? 'adjustments' : 'payments'}`;
          const body = adjustment ? { amountMinor, currency: 'EUR', reason: 'inv' } : { amountMinor, currency: 'EUR' };
          const headers = { 'Idempotency-Key': `inv-${n}` };
          const first = await call(handler, 'POST', path, { role: 'finance', body, headers });
          expect([201, 202]).toContain(first.status);
          if (retry) expect([201, 202]).toContain((await call(handler, 'POST', path, { role: 'finance', body, headers })).status);
          requests.push({ commandId: first.body.commandId, accountId, amountMinor: adjustment ? amountMinor : -amountMinor });
        }),
      );
      await sleep(random() * (CHAOS_MS / Math.ceil(plans.length / 10)));
    }
    while (Date.now() - chaosStarted < CHAOS_MS) await sleep(200);
    phase('payments sent');
    chaos = false;
    await chaosLoop;
    expect(kills).toBeGreaterThan(0);
    phase(`chaos over after ${kills} SIGKILLs`);

    // Every request is answered in the end (Recorded, or Duplicate for none of them).
    for (const request of requests) {
      const answered = await waitFor(async () => {
        const res = await call(handler, 'GET', `/commands/${request.commandId}`, { role: 'finance' });
        return res.status !== 202 ? res : undefined;
      }, 60_000);
      expect(answered && [answered.status, answered.body.status]).toEqual([201, 'recorded']);
      expected.set(request.accountId, expected.get(request.accountId)! + request.amountMinor);
    }

    phase('every request answered');
    // 4. A full replay: the balances are deleted and rebuilt from accounting.transactions.
    await crash('account-reducer');
    const redis = p.env.redis();
    // Every partition's balances are in a hash slot of their own: `{<prefix>account-reducer:<partition>}:…`.
    const keys = await redis.keys(`{${p.prefix}account-reducer:*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    await restart('account-reducer');

    const balances = async () => new Map(await Promise.all(accountIds.map(async (id) => [id, (await call(handler, 'GET', `/accounts/${id}`, { role: 'finance' })).body?.balanceMinor] as const)));
    await waitFor(async () => [...(await balances())].every(([id, b]) => b === expected.get(id)), 60_000);
    phase('balances rebuilt');

    // 4b. Redis loses them under the running reducer (restarted empty), and nothing new arrives:
    // its offsets watch must notice on its own.
    const again = await redis.keys(`{${p.prefix}account-reducer:*`);
    expect(again.length).toBeGreaterThan(0);
    await redis.del(...again);
    await waitFor(async () => [...(await balances())].every(([id, b]) => b === expected.get(id)), 60_000);
    phase('balances rebuilt again while running');
    // 5. The invariants.
    const recorded = (await p.readTopic('accountingTransactions', 1)).map((r) => r.value as TransactionRecorded);
    const ids = recorded.map((t) => t.data.transactionId);
    expect(ids.length - new Set(ids).size).toBe(0);
    const sums = new Map<string, number>();
    const versions = new Map<string, number[]>();
    for (const t of recorded) {
      sums.set(t.aggregateId, (sums.get(t.aggregateId) ?? 0) + t.data.amountMinor);
      versions.set(t.aggregateId, [...(versions.get(t.aggregateId) ?? []), t.version]);
    }
    const final = await balances();
    for (const id of accountIds) {
      expect([id, final.get(id)]).toEqual([id, sums.get(id)]);
      expect([id, sums.get(id)]).toEqual([id, expected.get(id)]);
      expect(versions.get(id)).toEqual(versions.get(id)!.map((_, i) => i + 1));
      const account = await call(handler, 'GET', `/accounts/${id}`, { role: 'finance' });
      expect(account.body.version).toBe(versions.get(id)!.length);
    }
  }, 240_000);
});

async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) return undefined;
    await sleep(250);
  }
}
