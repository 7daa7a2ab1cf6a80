import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { createSerde, kafkajsRegistryClient, TOPICS, type CommandOutcome, type TopicName, type TransactionRecorded } from '@waybill/contracts';
import { DEMO_KEYS } from '@waybill/devstack';
import { Fleet, root } from './support/fleet';
import { readCommitted } from './support/read-committed';

// Nothing lost, nothing counted twice, under faults. A whole Waybill on its own broker, Redis and
// registry takes a steady load of shipment commands and payments through the HTTP APIs, like a
// warehouse's clients (retrying with the same Idempotency-Key until they have an answer), while
// the consumer apps are SIGKILLed at random moments, a reducer is stalled past its session
// timeout, the broker is SIGKILLed and restarted, and Redis restarts empty. Then the invariants,
// printed as a table. Seeded (FAULTS_SEED) so a failing run can be repeated; scale with
// FAULTS_CHAOS_MS and FAULTS_WORKERS.

const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 100_000);
const CHAOS_MS = Number(process.env.FAULTS_CHAOS_MS ?? 60_000);
const WORKERS = Number(process.env.FAULTS_WORKERS ?? 6);
const ACCOUNTS = 8;
const SESSION_TIMEOUT_MS = 6_000;
const PARTITIONS = 4;
/** A client gives up on one request after this long: the system did not recover. */
const REQUEST_DEADLINE_MS = 150_000;

let rngState = seed;
const random = () => ((rngState = (rngState * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (role: string) => DEMO_KEYS.find((k) => k.role === role)!.key;

const CONSUMERS = ['shipment-reducer#1', 'shipment-reducer#2', 'accounting-listener', 'accounting-command-listener', 'account-reducer', 'ledger'] as const;
const consumerEnv = { SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) };
const handlerEnv = { OUTCOME_WAIT_MS: '2000', RATE_LIMIT_PER_MINUTE: '1000000' };

interface Answer {
  status: number;
  body: any;
}

/** What clients were told: every acknowledged command, with the answer they finally got. */
interface Acknowledged {
  kind: 'shipment' | 'payment';
  commandId: string;
  aggregateId: string;
  final: Answer;
  transactionId?: string;
}

describe(`faults: crashes, a stalled consumer, a broker SIGKILL and Redis restarted empty under load (seed ${seed})`, () => {
  const fleet = new Fleet();
  const injected: Array<{ at: number; what: string }> = [];
  const began = Date.now();
  const note = (what: string) => {
    injected.push({ at: (Date.now() - began) / 1000, what });
    process.stderr.write(`faults: ${((Date.now() - began) / 1000).toFixed(1)} s ${what}\n`);
  };

  beforeAll(async () => {
    await fleet.startInfrastructure(PARTITIONS);
    await Promise.all([
      fleet.add('shipment-reducer#1', consumerEnv),
      fleet.add('shipment-reducer#2', consumerEnv),
      fleet.add('accounting-listener', consumerEnv),
      fleet.add('accounting-command-listener', consumerEnv),
      fleet.add('account-reducer', consumerEnv),
      fleet.add('ledger', consumerEnv),
    ]);
    await fleet.add('shipment-handler', handlerEnv);
    await fleet.add('accounting-handler', handlerEnv);
    note('stack up: broker, Redis, registry, 8 app processes');
  }, 300_000);
  afterAll(() => fleet.close(), 60_000);

  /** One HTTP call to whichever instance of `app` runs now; network errors are answers too. */
  async function http(app: string, method: string, path: string, role: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const url = fleet.url(app);
    if (!url) return { status: 0, body: { error: 'app restarting' } };
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-api-key': keyOf(role), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch (err) {
      return { status: 0, body: { error: (err as Error).message } };
    }
  }

  const retriable = (a: Answer) => a.status === 0 || a.status >= 500 || a.status === 429 || a.status === 404;

  /**
   * What a careful client does: POST with an Idempotency-Key until it gets an answer that is not
   * a failure; on 202 poll the command until it is decided; if the handler forgot the command
   * (404 after a Redis restart), POST again with the same key.
   */
  async function command(app: 'shipment-handler' | 'accounting-handler', path: string, role: string, body: unknown, idempotencyKey: string): Promise<Answer> {
    const deadline = Date.now() + REQUEST_DEADLINE_MS;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${app} ${path} (${idempotencyKey}): no answer within ${REQUEST_DEADLINE_MS} ms`);
      const posted = await http(app, 'POST', path, role, body, { 'Idempotency-Key': idempotencyKey });
      if (posted.status === 404 || retriable(posted)) {
        await sleep(300);
        continue;
      }
      if (posted.status !== 202) return posted;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`${app} command ${posted.body.commandId}: still pending after ${REQUEST_DEADLINE_MS} ms`);
        await sleep(300);
        const polled = await http(app, 'GET', `/commands/${posted.body.commandId}`, role);
        if (polled.status === 202) continue;
        if (polled.status === 404 && polled.body?.error === 'NOT_FOUND') break; // forgotten: post again
        if (retriable(polled)) continue;
        return polled;
      }
    }
  }

  it('keeps every acknowledged command, every version sequence, every id and every balance exact', async () => {
    const acknowledged: Acknowledged[] = [];
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `FA-${i}`);
    let chaosOver = false;
    let shipmentsStarted = 0;

    // Load: workers walk shipments through their lives; one in eight goes wrong on purpose.
    const shipmentWorker = async (worker: number) => {
      while (!chaosOver) {
        const n = shipmentsStarted++;
        const id = `FS-${n}`;
        const accountId = pick(accounts);
        const quantity = 1 + Math.floor(random() * 3);
        const step = async (type: string, role: string, data: object = {}) => {
          const answer =
            type === 'CreateShipment'
              ? await command('shipment-handler', '/shipments', role, { shipmentId: id, ...data }, `${id}-create`)
              : await command('shipment-handler', `/shipments/${id}/commands`, role, { type, data }, `${id}-${type}-${JSON.stringify(data).length}`);
          if (answer.body?.commandId) acknowledged.push({ kind: 'shipment', commandId: answer.body.commandId, aggregateId: id, final: answer });
          return answer;
        };
        await step('CreateShipment', 'associate', {
          orderId: `O-${n}`,
          customerAccountId: accountId,
          currency: 'EUR',
          lines: [{ sku: 'SKU-F', quantity, unitPriceMinor: 100 + Math.floor(random() * 5_000) }],
          destination: { name: 'N', street: 'S 1', city: 'C', postalCode: '1', country: 'NL' },
        });
        if (random() < 0.1) {
          await step('Cancel', 'team-lead', { reason: 'customer called' });
          continue;
        }
        await step('ReleaseForPicking', 'team-lead');
        await step('PickItem', 'associate', { sku: 'SKU-F', quantity });
        await step('CompletePicking', 'associate');
        await step('Pack', 'associate', { packageCount: 1 });
        if (random() < 0.15) await step('ReleaseForPicking', 'team-lead'); // forbidden: rejected, alert
        await step('MarkReadyForShipping', 'associate');
        await step('Ship', 'associate', { carrier: 'DHL', trackingNumber: `T-${n}` });
        if (random() < 0.15) await step('CorrectStatus', 'supervisor', { toStatus: 'Packed', reason: `worker ${worker} packed the wrong box` });
        else if (random() < 0.6) await step('ConfirmDelivery', 'associate', { receivedBy: 'front desk' });
      }
    };

    let payments = 0;
    const paymentWorker = async () => {
      while (!chaosOver) {
        await sleep(200 + random() * 400);
        const n = payments++;
        const accountId = pick(accounts);
        const answer = await command('accounting-handler', `/accounts/${accountId}/payments`, 'finance', { amountMinor: 1 + Math.floor(random() * 3_000), currency: 'EUR' }, `pay-${n}`);
        if (answer.body?.commandId) acknowledged.push({ kind: 'payment', commandId: answer.body.commandId, aggregateId: accountId, final: answer, transactionId: answer.body.transactionId });
      }
    };

    const load = Promise.all([...Array.from({ length: WORKERS }, (_, w) => shipmentWorker(w)), paymentWorker()]);

    // Chaos: each consumer SIGKILLed twice at random moments, one stall, one broker SIGKILL, one
    // Redis restart, spread over CHAOS_MS in a seeded order.
    const plan: Array<() => Promise<void>> = [];
    for (const id of [...CONSUMERS, ...CONSUMERS]) {
      plan.push(async () => {
        note(`SIGKILL ${id}`);
        await fleet.kill(id, random() * 1_000);
      });
    }
    plan.push(async () => {
      note(`SIGSTOP shipment-reducer#1 for ${SESSION_TIMEOUT_MS + 4_000} ms (past its session timeout), then SIGCONT`);
      await fleet.stall('shipment-reducer#1', SESSION_TIMEOUT_MS + 4_000);
    });
    plan.push(async () => {
      note('SIGKILL the Kafka broker');
      await fleet.killBroker(2_000);
      note('Kafka broker restarted on the same data');
    });
    plan.push(async () => {
      note('Redis SIGKILLed, its data deleted, restarted empty');
      await fleet.restartRedisEmpty();
    });
    for (let i = plan.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [plan[i], plan[j]] = [plan[j], plan[i]];
    }
    await sleep(3_000);
    const gap = CHAOS_MS / plan.length;
    for (const action of plan) {
      await sleep(gap * (0.5 + random()));
      await action();
    }
    chaosOver = true;
    note('chaos over; clients finish what they started');
    await load;
    await fleet.settled();
    note(`load over: ${shipmentsStarted} shipments, ${payments} payments, ${acknowledged.length} acknowledged commands`);

    // What is on the topics now, read through transaction markers.
    const kafka = new Kafka({ brokers: fleet.kafka.brokers, clientId: 'faults-check', logLevel: logLevel.NOTHING });
    const serde = createSerde({ registry: kafkajsRegistryClient(fleet.registry.url) });
    const read = (logical: TopicName) => readCommitted(kafka, serde, logical, logical);
    const commandsOnTopic = await read(TOPICS.shipmentCommands);
    const shipmentOutcomes = (await read(TOPICS.shipmentOutcomes)).map((r) => r.value as CommandOutcome);
    const eventsTopic = await read(TOPICS.shipmentEvents);
    const transactions = (await read(TOPICS.accountingTransactions)).map((r) => r.value as TransactionRecorded);
    const accountingCommands = await read(TOPICS.accountingCommands);
    note(`read back: ${commandsOnTopic.length} shipment commands, ${eventsTopic.length} events, ${shipmentOutcomes.length} outcomes, ${accountingCommands.length} accounting commands, ${transactions.length} transactions`);

    const checks: Array<{ check: string; detail: string; ok: boolean }> = [];
    const check = (name: string, problems: string[], detail: string) => {
      checks.push({ check: name, detail: problems.length ? `${problems.length} problems, e.g. ${problems.slice(0, 3).join('; ')}` : detail, ok: problems.length === 0 });
    };

    // 1. Every acknowledged shipment command: one decision (repeats answer the same), one event sequence.
    const outcomesById = new Map<string, CommandOutcome[]>();
    for (const o of shipmentOutcomes) outcomesById.set(o.commandId, [...(outcomesById.get(o.commandId) ?? []), o]);
    const events = eventsTopic.map((r) => r.value as { eventId: string; aggregateId: string; version: number; causationId: string | null });
    const eventsById = new Map<string, number>();
    for (const e of events) eventsById.set(e.eventId, (eventsById.get(e.eventId) ?? 0) + 1);
    const shipmentAcks = acknowledged.filter((a) => a.kind === 'shipment');
    const decisionProblems: string[] = [];
    let repeatedAnswers = 0;
    for (const ack of shipmentAcks) {
      const found = outcomesById.get(ack.commandId) ?? [];
      if (!found.length) {
        decisionProblems.push(`${ack.commandId} (${ack.aggregateId}) has no outcome`);
        continue;
      }
      repeatedAnswers += found.length - 1;
      const decisions = new Set(found.map((o) => JSON.stringify([o.status, o.version, o.eventIds])));
      if (decisions.size !== 1) decisionProblems.push(`${ack.commandId} was decided ${decisions.size} ways`);
      const told = ack.final.body.status;
      const decided = found[0].status === 'Accepted' ? 'accepted' : 'rejected';
      if (told !== decided) decisionProblems.push(`${ack.commandId}: client was told ${told}, topic says ${decided}`);
      if (found[0].status === 'Accepted') {
        for (const eventId of found[0].eventIds) if (eventsById.get(eventId) !== 1) decisionProblems.push(`${ack.commandId}: event ${eventId} is on shipment.events ${eventsById.get(eventId) ?? 0} times`);
      }
    }
    check('every acknowledged shipment command has one decision and its events once', decisionProblems, `${shipmentAcks.length} commands; ${repeatedAnswers} retries answered again with the same decision`);

    // 2. Versions 1..n per aggregate, no gap, no repeat.
    const versionProblems: string[] = [];
    const byShipment = new Map<string, number[]>();
    for (const e of events) byShipment.set(e.aggregateId, [...(byShipment.get(e.aggregateId) ?? []), e.version]);
    for (const [id, versions] of byShipment) if (versions.some((v, i) => v !== i + 1)) versionProblems.push(`${id}: ${versions.join(',')}`);
    const byAccount = new Map<string, number[]>();
    for (const t of transactions) byAccount.set(t.aggregateId, [...(byAccount.get(t.aggregateId) ?? []), t.version]);
    for (const [id, versions] of byAccount) if (versions.some((v, i) => v !== i + 1)) versionProblems.push(`${id}: ${versions.join(',')}`);
    check('every aggregate’s versions run 1..n', versionProblems, `${byShipment.size} shipments (${events.length} events), ${byAccount.size} accounts (${transactions.length} transactions)`);

    // 3. No event id, no transactionId twice.
    const duplicateEvents = [...eventsById].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
    const transactionCounts = new Map<string, number>();
    for (const t of transactions) transactionCounts.set(t.data.transactionId, (transactionCounts.get(t.data.transactionId) ?? 0) + 1);
    const duplicateTransactions = [...transactionCounts].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
    check('no eventId twice', duplicateEvents, `${eventsById.size} distinct event ids`);
    check('no transactionId twice', duplicateTransactions, `${transactionCounts.size} distinct transaction ids`);

    // 4. Acknowledged payments: booked exactly when the client was told so.
    const paymentProblems: string[] = [];
    const paymentAcks = acknowledged.filter((a) => a.kind === 'payment');
    for (const ack of paymentAcks) {
      const booked = transactionCounts.get(ack.transactionId ?? '') ?? 0;
      const told = ack.final.body.status;
      if ((told === 'recorded' || told === 'duplicate') && booked !== 1) paymentProblems.push(`${ack.transactionId} told ${told}, booked ${booked} times`);
      if (told === 'rejected' && booked !== 0) paymentProblems.push(`${ack.transactionId} told rejected, booked ${booked} times`);
    }
    const recorded = paymentAcks.filter((a) => a.final.body.status === 'recorded').length;
    check('nothing acknowledged to a client is missing (payments)', paymentProblems, `${paymentAcks.length} payments: ${recorded} recorded, ${paymentAcks.length - recorded} rejected (account not open yet)`);

    // 5. Every balance equals its transactions (and its version their count).
    const balanceProblems: string[] = [];
    const sums = new Map<string, number>();
    for (const t of transactions) sums.set(t.aggregateId, (sums.get(t.aggregateId) ?? 0) + t.data.amountMinor);
    for (const [accountId, sum] of sums) {
      const deadline = Date.now() + 60_000;
      let answer: Answer;
      do {
        answer = await http('accounting-handler', 'GET', `/accounts/${accountId}`, 'finance');
        if (answer.status === 200 && answer.body.balanceMinor === sum && answer.body.version === byAccount.get(accountId)!.length) break;
        await sleep(500);
      } while (Date.now() < deadline);
      if (answer.status !== 200 || answer.body.balanceMinor !== sum) balanceProblems.push(`${accountId}: balance ${answer.body?.balanceMinor}, transactions sum to ${sum}`);
      else if (answer.body.version !== byAccount.get(accountId)!.length) balanceProblems.push(`${accountId}: version ${answer.body.version}, ${byAccount.get(accountId)!.length} transactions`);
    }
    check('every balance equals its transactions', balanceProblems, `${sums.size} accounts`);

    // 6a. The ledger reflects every partition of its topics up to the end. (verify below compares
    // only up to what the live model claims, so a partition it lost would compare empty with empty.)
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map<string, bigint>();
    for (const topic of [TOPICS.shipmentEvents, TOPICS.shipmentOutcomes, TOPICS.accountingTransactions]) {
      for (const o of await admin.fetchTopicOffsets(topic)) if (BigInt(o.high) > 0n) ends.set(`${topic}:${o.partition}`, BigInt(o.high));
    }
    await admin.disconnect();
    const ledgerRedis = new Redis(fleet.redis.url);
    let behind: string[] = [];
    const caughtUpDeadline = Date.now() + 60_000;
    do {
      if (behind.length) await sleep(500);
      const stored = await ledgerRedis.hgetall('ledger:offsets');
      behind = [...ends].filter(([field, end]) => !/^\d+$/.test(stored[field] ?? '') || BigInt(stored[field]) < end).map(([field, end]) => `${field} at ${stored[field] ?? 'nothing'} of ${end}`);
    } while (behind.length && Date.now() < caughtUpDeadline);
    await ledgerRedis.quit();
    check('the ledger reflects every partition to its end', behind, `${ends.size} non-empty partitions`);

    // 6. The ledger's read model equals a fresh rebuild (waybill verify ledger, key by key).
    let verify = { code: -1, output: '' };
    const verifyDeadline = Date.now() + 90_000;
    do {
      if (verify.code !== -1) await sleep(2_000);
      verify = await waybill(['verify', 'ledger'], fleet);
    } while (verify.code !== 0 && Date.now() < verifyDeadline);
    check('the ledger read model equals a fresh rebuild', verify.code === 0 ? [] : [verify.output.slice(-1_500)], verify.output.split('\n').filter(Boolean).slice(-2).join(' / '));

    // 7. The ledger shows every acknowledged shipment command's events in the shipment's history.
    const historyProblems: string[] = [];
    const accepted = new Map<string, number>();
    for (const ack of shipmentAcks) {
      const version = outcomesById.get(ack.commandId)?.[0];
      if (version?.status === 'Accepted') accepted.set(ack.aggregateId, Math.max(accepted.get(ack.aggregateId) ?? 0, version.version));
    }
    for (const [id, version] of accepted) {
      const answer = await http('ledger', 'GET', `/shipments/${id}`, 'viewer');
      if (answer.status !== 200 || answer.body.version < version) historyProblems.push(`${id}: ledger says ${answer.status} v${answer.body?.version}, acknowledged up to v${version}`);
    }
    check('the ledger reflects every acknowledged shipment', historyProblems, `${accepted.size} shipments`);

    const restarts = [...fleet.members.values()].map((m) => `${m.id} ${m.restarts} restarts (${m.unplannedExits} on its own)`);
    const table = [
      '',
      `faults suite, seed ${seed}: what was injected`,
      ...injected.map((i) => `  ${i.at.toFixed(1).padStart(6)} s  ${i.what}`),
      `  restarts: ${restarts.join(', ')}`,
      '',
      'what was checked',
      ...checks.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${c.check.padEnd(80)} ${c.detail}`),
      '',
    ].join('\n');
    process.stdout.write(`${table}\n`);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(shipmentAcks.length).toBeGreaterThan(100);
  }, 900_000);
});

function waybill(args: string[], fleet: Fleet): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'tools', 'cli', 'dist', 'main.js'), ...args], {
      env: { ...process.env, KAFKA_BROKERS: fleet.kafka.brokers.join(','), REDIS_URL: fleet.redis.url, SCHEMA_REGISTRY_URL: fleet.registry.url, TOPIC_PREFIX: '' },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}
