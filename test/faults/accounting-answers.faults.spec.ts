import type { AccountingCommandOutcome, TransactionRecorded } from '@waybill/contracts';
import { DEMO_KEYS } from '@waybill/devstack';
import { FAILPOINTS_ENV } from '@waybill/platform';
import { accountingCommandMessages, shipmentCharge } from '../support/accounting-commands';
import { call, pipeline, type Pipeline } from '../support/pipeline';

// accounting-command-listener is SIGKILLed between its decision and its Kafka commit, or just after
// the commit before its state store is written, again and again (the `streams.before-commit` and
// `streams.after-commit` failpoints, at a seeded hit after each start), while finance
// clients book payments over HTTP with Idempotency-Keys and poll for the answers. Every answer
// travels on accounting.outcomes in the same transaction as what it answers, so every poll must
// end in Recorded, Rejected or Duplicate: never stuck, never answered twice, never booked twice.

const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 100_000);
const KILLS = 8;
const REQUESTS = 48;
const CLIENTS = 6;
const DECIDE_WITHIN_MS = 150_000;
const OPEN_ACCOUNTS = ['ACC-1', 'ACC-2', 'ACC-3'];
const finance = DEMO_KEYS.find((k) => k.role === 'finance')!;
// A dead member keeps its partitions until its session times out: the broker's minimum, so each
// of the deaths costs seconds, not the default 30.
const LISTENER_ENV = { SESSION_TIMEOUT_MS: '6000' };

type Expected = { status: 'Recorded' } | { status: 'Rejected'; code: string } | { status: 'Duplicate' };
interface Request {
  name: string;
  accountId: string;
  body: Record<string, unknown>;
  key: string;
  expected: Expected;
  /** Book it, then forget its Idempotency-Key (as an expiry would) and send it again: a duplicate. */
  resendAfterForgetting: boolean;
}

type App = Awaited<ReturnType<Pipeline['start']>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function requests(random: () => number): Request[] {
  return Array.from({ length: REQUESTS }, (_, i) => {
    const accountId = OPEN_ACCOUNTS[i % OPEN_ACCOUNTS.length];
    const roll = random();
    const base = { name: `r${i}`, key: `pay-${seed}-${i}`, resendAfterForgetting: false };
    if (roll < 0.1) return { ...base, accountId: `ACC-NEW-${i}`, body: { amountMinor: 100 + i, currency: 'EUR' }, expected: { status: 'Rejected', code: 'NOT_FOUND' } };
    if (roll < 0.2) return { ...base, accountId, body: { amountMinor: 100 + i, currency: 'USD' }, expected: { status: 'Rejected', code: 'CURRENCY_MISMATCH' } };
    if (roll < 0.3) return { ...base, accountId, body: { amountMinor: 100 + i, currency: 'EUR' }, expected: { status: 'Duplicate' }, resendAfterForgetting: true };
    return { ...base, accountId, body: { amountMinor: 100 + i, currency: 'EUR', reference: `bank ${i}` }, expected: { status: 'Recorded' } };
  });
}

describe(`accounting answers while accounting-command-listener dies between decision and commit (seed ${seed})`, () => {
  let p: Pipeline;
  let handler: App;

  beforeAll(async () => {
    p = await pipeline('acct-answers');
    handler = await p.start('accounting-handler', { OUTCOME_WAIT_MS: '1000' });
  }, 120_000);
  afterAll(() => p?.close());

  /** Opens each account with a shipment charge, as accounting-listener would. */
  async function openAccounts(): Promise<void> {
    const producer = p.env.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = await accountingCommandMessages(p.serde, OPEN_ACCOUNTS.map((accountId) => shipmentCharge(accountId, 0)));
    await producer.send({ topic: p.topics.accountingCommands, acks: -1, messages });
    await producer.disconnect();
  }

  /** POSTs until decided (polling a 202, re-sending on 503 or a dropped connection); the decided body. */
  async function decide(request: Request, deadline: number): Promise<{ status: string; error?: string; commandId: string; transactionId: string }> {
    const post = () =>
      call(handler, 'POST', `/accounts/${request.accountId}/payments`, { role: 'finance', body: request.body, headers: { 'idempotency-key': request.key } }).catch(() => undefined);
    let commandId: string | undefined;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${request.name} (${request.key}): no answer within ${DECIDE_WITHIN_MS} ms (command ${commandId ?? 'never acknowledged'})`);
      const res = commandId ? await call(handler, 'GET', `/commands/${commandId}`, { role: 'finance' }).catch(() => undefined) : await post();
      const body = res?.body as { status?: string; commandId?: string } | undefined;
      if (body?.status && body.status !== 'pending') return body as { status: string; commandId: string; transactionId: string };
      if (body?.status === 'pending' && body.commandId) commandId = body.commandId;
      else if (res?.status === 404 && commandId) commandId = undefined; // forgotten here: send again with the key
      await sleep(200);
    }
  }

  it('ends every poll in Recorded, Rejected or Duplicate, answers each command once and books each transaction once', async () => {
    let rngState = seed;
    const random = () => (rngState = (rngState * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const work = requests(random);
    const redis = p.env.redis();
    await openAccounts();

    // The listener, restarted after each death; armed to die at the n-th commit of each life.
    const deaths: Array<{ point: string; hit: number; signal: string | null }> = [];
    let clientsDone = false;
    const supervisor = (async () => {
      while (deaths.length < KILLS && !clientsDone) {
        const hit = 1 + Math.floor(random() * 4);
        const point = random() < 0.6 ? 'streams.before-commit' : 'streams.after-commit';
        const started = await p.start('accounting-command-listener', { ...LISTENER_ENV, [FAILPOINTS_ENV]: `${point}=kill@${hit}` }).catch((err: Error) => {
          // It can die at the failpoint before it reports ready: a death like any other.
          if (/exited before it was ready/.test(err.message)) return undefined;
          throw err;
        });
        const service = started?.service;
        const exit = service ? await Promise.race([service.exited, (async () => { while (!clientsDone) await sleep(100); return undefined; })()]) : { signal: 'SIGKILL' as const };
        if (!exit) {
          await service?.stop();
          return;
        }
        deaths.push({ point, hit, signal: exit.signal });
      }
      await p.start('accounting-command-listener', LISTENER_ENV);
    })();

    const decided = new Map<string, { status: string; error?: string; commandId: string; transactionId: string }>();
    const resent = new Map<string, { status: string; commandId: string; transactionId: string }>();
    const deadline = Date.now() + DECIDE_WITHIN_MS;
    const queue = [...work];
    const clients = Array.from({ length: CLIENTS }, async () => {
      for (let request = queue.shift(); request; request = queue.shift()) {
        decided.set(request.name, await decide(request, deadline));
        if (request.resendAfterForgetting) {
          // The key's record expired (or Redis lost it): the same request is a new command with
          // the same derived transactionId, which the listener must answer as a duplicate.
          await redis.del(`${p.prefix}accounting-handler:idempotency:${finance.principal}:${request.key}`);
          resent.set(request.name, await decide(request, deadline));
        }
      }
    });
    try {
      await Promise.all(clients);
    } finally {
      clientsDone = true;
      await supervisor;
    }

    // Every request got the answer its case implies (a resent one: Recorded first, then Duplicate).
    for (const request of work) {
      const first = decided.get(request.name)!;
      if (request.expected.status === 'Rejected') expect([request.name, first.status, first.error]).toEqual([request.name, 'rejected', request.expected.code]);
      else expect([request.name, first.status]).toEqual([request.name, 'recorded']);
      if (request.resendAfterForgetting) {
        const again = resent.get(request.name)!;
        expect([request.name, again.status, again.transactionId]).toEqual([request.name, 'duplicate', first.transactionId]);
        expect(again.commandId).not.toBe(first.commandId);
      }
    }
    expect(deaths.length).toBe(KILLS);
    expect(deaths.filter((d) => d.signal !== 'SIGKILL')).toEqual([]);

    // Never booked twice: each transaction once, each account's versions 1..n.
    const recordedCount = work.filter((r) => r.expected.status !== 'Rejected').length;
    const transactions = (await p.readTopic('accountingTransactions', OPEN_ACCOUNTS.length + recordedCount)).map((r) => r.value as TransactionRecorded);
    const ids = transactions.map((t) => t.data.transactionId);
    expect(ids.length).toBe(new Set(ids).size);
    expect(ids.length).toBe(OPEN_ACCOUNTS.length + recordedCount);
    for (const accountId of OPEN_ACCOUNTS) {
      const versions = transactions.filter((t) => t.aggregateId === accountId).map((t) => t.version);
      expect([accountId, versions]).toEqual([accountId, versions.map((_, i) => i + 1)]);
    }

    // Never answered twice: one committed outcome per command, and it is the answer the client got.
    const answers = [...decided.values(), ...resent.values()];
    const outcomes = (await p.readTopic('accountingOutcomes', OPEN_ACCOUNTS.length + answers.length)).map((r) => r.value as AccountingCommandOutcome);
    const perCommand = new Map<string, AccountingCommandOutcome[]>();
    for (const outcome of outcomes) perCommand.set(outcome.commandId, [...(perCommand.get(outcome.commandId) ?? []), outcome]);
    expect([...perCommand.entries()].filter(([, list]) => list.length !== 1)).toEqual([]);
    expect(perCommand.size).toBe(OPEN_ACCOUNTS.length + answers.length);
    for (const answer of answers) expect([answer.commandId, perCommand.get(answer.commandId)?.[0].status.toLowerCase()]).toEqual([answer.commandId, answer.status]);
  }, 300_000);
});
