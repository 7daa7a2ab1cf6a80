import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { createSerde, kafkajsRegistryClient } from '@waybill/contracts';
import { DEMO_KEYS, parseInstanceList } from '@waybill/devstack';
import { ledgerKeyPrefix, readLedgerOffsets } from '@waybill/ledger-projections';
import { Fleet, root } from './fleet';
import {
  acknowledgedShipmentVersions,
  checkHistory,
  expectedBalances,
  ledgerLag,
  renderHistoryTable,
  type Acknowledgement,
  type AnomalyKind,
  type BalanceAnswer,
  type HistoryVerdict,
  type LedgerShipmentAnswer,
  type UnansweredCommand,
} from './history-checker';
import { readTopicHistory } from './topic-history';

// Nothing lost, nothing counted twice, under faults. A whole Waybill on its own broker, Redis and
// registry takes a steady load of shipment commands and payments through the HTTP APIs, like a
// warehouse's clients (retrying with the same Idempotency-Key until they have an answer), while
// the consumer apps are SIGKILLed at random moments, a reducer is stalled past its session
// timeout, the broker is SIGKILLed and restarted, and Redis restarts empty. Then the history
// checker judges everything the run left on the topics and what the APIs answer. Seeded, so a
// failing run can be repeated. One implementation: chaos.faults.spec.ts and `npm run soak`
// (bench/soak.mjs, through that spec) both run this.

export interface ChaosSettings {
  seed: number;
  /** How long faults are injected; the load runs that long, then clients finish what they started. */
  chaosMs: number;
  /** Shipment workers (one more worker sends payments). */
  workers: number;
  /** Instances of each consumer app in its group; an app not named runs one. */
  instances: Readonly<Record<string, number>>;
  /** Progress lines (injected faults, phases). */
  log?: (line: string) => void;
}

/** The consumer apps the chaos kills; each runs in its own consumer group. */
export const CONSUMER_APPS = ['shipment-reducer', 'accounting-listener', 'accounting-command-listener', 'account-reducer', 'ledger'] as const;

/** Issue 18's fleet: several instances share the partitions of the apps that hold the most state. */
export const DEFAULT_INSTANCES: Readonly<Record<string, number>> = { 'shipment-reducer': 3, ledger: 2, 'account-reducer': 2 };

/** FAULTS_SEED, FAULTS_CHAOS_MS, FAULTS_WORKERS and FAULTS_INSTANCES (`shipment-reducer=3,ledger=2`, on top of the default). */
export function chaosSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ChaosSettings {
  const instances = { ...DEFAULT_INSTANCES, ...parseInstanceList(env.FAULTS_INSTANCES ?? '') };
  for (const [app, count] of Object.entries(instances)) {
    if (!(CONSUMER_APPS as readonly string[]).includes(app)) throw new Error(`FAULTS_INSTANCES names ${app}, which is not a consumer app (${CONSUMER_APPS.join(', ')})`);
    if (!Number.isInteger(count) || count < 1 || count > PARTITIONS) throw new Error(`FAULTS_INSTANCES ${app}=${count}: from 1 to ${PARTITIONS}, the partitions of a topic here`);
  }
  return {
    seed: Number(env.FAULTS_SEED ?? Date.now() % 100_000),
    chaosMs: Number(env.FAULTS_CHAOS_MS ?? 60_000),
    workers: Number(env.FAULTS_WORKERS ?? 6),
    instances,
  };
}

/** `shipment-reducer#1`, `shipment-reducer#2`, … `ledger#1`: every consumer the fleet runs. */
export function consumerMembers(instances: Readonly<Record<string, number>>): string[] {
  return CONSUMER_APPS.flatMap((app) => Array.from({ length: instances[app] ?? 1 }, (_, i) => `${app}#${i + 1}`));
}

/** Fewer decided shipment answers than this and the run proved too little to count. */
export const MINIMUM_SHIPMENT_COMMANDS = 100;

export interface ChaosRunResult {
  seed: number;
  chaosMs: number;
  workers: number;
  instances: Readonly<Record<string, number>>;
  /** Distinct commands a client got a decided answer for. */
  commandsAcknowledged: number;
  shipmentCommandsAcknowledged: number;
  paymentsAcknowledged: number;
  /** Decided answers to shipment commands, repeats of one command included (what the load minimum counts). */
  shipmentAnswers: number;
  /** Commands a client gave up on. */
  unanswered: number;
  anomalies: number;
  anomaliesByKind: Record<AnomalyKind, number>;
  /** Every kind with its count, first examples and what it covered. */
  verdict: HistoryVerdict;
  /** No anomaly, and load enough to mean something (more than MINIMUM_SHIPMENT_COMMANDS shipment answers). */
  passed: boolean;
  durationMs: number;
  injected: Array<{ at: number; what: string }>;
  /** The injected-faults table and the checker's table, as printed. */
  report: string;
  /** The fleet's folder (broker and Redis data); the apps' logs are in `logsDir`. */
  workDir: string;
  logsDir: string;
}

const ACCOUNTS = 8;
const SESSION_TIMEOUT_MS = 6_000;
const PARTITIONS = 4;
/** A client gives up on one request after this long: the system did not recover. */
const REQUEST_DEADLINE_MS = 150_000;

const consumerEnv = { SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) };
const handlerEnv = { OUTCOME_WAIT_MS: '2000', RATE_LIMIT_PER_MINUTE: '1000000' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (role: string) => {
  const key = DEMO_KEYS.find((k) => k.role === role);
  if (!key) throw new Error(`no demo key for role ${role}`);
  return key.key;
};

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

class ClientGaveUp extends Error {
  constructor(readonly unanswered: UnansweredCommand) {
    super(`${unanswered.request} (${unanswered.idempotencyKey}): no decided answer within ${unanswered.waitedMs} ms, last ${unanswered.lastAnswer}`);
  }
}

export async function runChaos(settings: ChaosSettings): Promise<ChaosRunResult> {
  const { seed, chaosMs, workers, instances } = settings;
  const consumers = consumerMembers(instances);
  const log = settings.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let rngState = seed;
  const random = () => (rngState = (rngState * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

  const fleet = new Fleet();
  const injected: Array<{ at: number; what: string }> = [];
  const began = Date.now();
  const note = (what: string) => {
    injected.push({ at: (Date.now() - began) / 1000, what });
    log(`faults: ${((Date.now() - began) / 1000).toFixed(1)} s ${what}`);
  };

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
  // A decided command says so in its body, whatever its HTTP status: a rejection for an account
  // that does not exist yet is a 404 with status "rejected", which is an answer, while a 404
  // without a status means the handler does not know the command (forgotten after Redis
  // restarted empty). Retrying the first kind forever was the stuck payment of seeds 93236 and 4242.
  const decided = (a: Answer) => ['accepted', 'rejected', 'recorded', 'duplicate'].includes(a.body?.status);
  const summarize = (a: Answer) => `${a.status} ${a.body?.status ?? a.body?.error ?? ''}`.trim();

  /**
   * What a careful client does: POST with an Idempotency-Key until it gets an answer that is not
   * a failure; on 202 poll the command until it is decided; if the handler forgot the command
   * (a 404 that carries no decision, after a Redis restart), POST again with the same key. Past the deadline it gives up.
   */
  async function command(app: 'shipment-handler' | 'accounting-handler', path: string, role: string, body: unknown, idempotencyKey: string): Promise<Answer> {
    const started = Date.now();
    const deadline = started + REQUEST_DEADLINE_MS;
    const kind = app === 'shipment-handler' ? 'shipment' : 'payment';
    const giveUp = (last: Answer): never => {
      throw new ClientGaveUp({ kind, idempotencyKey, request: `POST ${path}`, lastAnswer: summarize(last), waitedMs: Date.now() - started });
    };
    for (;;) {
      const posted = await http(app, 'POST', path, role, body, { 'Idempotency-Key': idempotencyKey });
      if (Date.now() > deadline) giveUp(posted);
      if (!decided(posted) && retriable(posted)) {
        await sleep(300);
        continue;
      }
      if (posted.status !== 202) return posted;
      for (;;) {
        await sleep(300);
        const polled = await http(app, 'GET', `/commands/${posted.body.commandId}`, role);
        if (Date.now() > deadline) giveUp(polled);
        if (polled.status === 202) continue;
        if (decided(polled)) return polled;
        if (polled.status === 404 && polled.body?.error === 'NOT_FOUND') break; // forgotten: post again
        if (retriable(polled)) continue;
        return polled;
      }
    }
  }

  try {
    await fleet.startInfrastructure(PARTITIONS);
    await Promise.all(consumers.map((id) => fleet.add(id, consumerEnv)));
    await fleet.add('shipment-handler', handlerEnv);
    await fleet.add('accounting-handler', handlerEnv);
    note(`stack up: broker, Redis, registry, ${fleet.members.size} app processes (${consumers.join(', ')}, both handlers; work dir ${fleet.dir})`);

    const acknowledged: Acknowledgement[] = [];
    const unanswered: UnansweredCommand[] = [];
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `FA-${i}`);
    let chaosOver = false;
    let shipmentsStarted = 0;
    /** A client that gave up on one command stops: its shipment cannot go on from an unknown state. */
    const recordGiveUp = (err: unknown) => {
      if (!(err instanceof ClientGaveUp)) throw err;
      unanswered.push(err.unanswered);
      log(`faults: client gave up: ${err.message}`);
    };

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
          if (answer.body?.commandId) acknowledged.push({ kind: 'shipment', commandId: answer.body.commandId, aggregateId: id, httpStatus: answer.status, told: String(answer.body.status) });
          return answer;
        };
        try {
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
        } catch (err) {
          recordGiveUp(err);
          return;
        }
      }
    };

    let payments = 0;
    const paymentWorker = async () => {
      while (!chaosOver) {
        await sleep(200 + random() * 400);
        const n = payments++;
        const accountId = pick(accounts);
        try {
          const answer = await command('accounting-handler', `/accounts/${accountId}/payments`, 'finance', { amountMinor: 1 + Math.floor(random() * 3_000), currency: 'EUR' }, `pay-${n}`);
          if (answer.body?.commandId) {
            acknowledged.push({ kind: 'payment', commandId: answer.body.commandId, aggregateId: accountId, httpStatus: answer.status, told: String(answer.body.status), transactionId: answer.body.transactionId });
          }
        } catch (err) {
          recordGiveUp(err);
          return;
        }
      }
    };

    // A legacy system's feed reports what happened there: facts are recorded, never refused; one
    // in five moves a packed order back (a violation), and it re-sends some facts it already sent.
    let legacyOrders = 0;
    const observationWorker = async () => {
      while (!chaosOver) {
        const n = legacyOrders++;
        const id = `FL-${n}`;
        const facts: Array<Record<string, unknown>> = [];
        const report = async (fact: Record<string, unknown>) => {
          const body = { source: 'legacy-wms', process: `flow-${n}`, observedBy: 'Walter Chin', occurredAt: Date.now(), ...fact };
          facts.push(body);
          const answer = await command('shipment-handler', `/shipments/${id}/observations`, 'integration', body, `${id}-${String(fact.sourceId)}`);
          if (answer.body?.commandId) acknowledged.push({ kind: 'shipment', commandId: answer.body.commandId, aggregateId: id, httpStatus: answer.status, told: String(answer.body.status) });
        };
        try {
          await report({
            sourceId: `${id}-created`,
            kind: 'Created',
            order: { orderId: `LO-${n}`, customerAccountId: pick(accounts), currency: 'EUR', lines: [{ sku: 'SKU-L', quantity: 1, unitPriceMinor: 700 }], destination: { name: 'N', street: 'S 1', city: 'C', postalCode: '1', country: 'NL' } },
          });
          await report({ sourceId: `${id}-released`, kind: 'StatusChanged', toStatus: 'PendingPicking' });
          await report({ sourceId: `${id}-picked`, kind: 'LinePicked', sku: 'SKU-L', quantity: 1 });
          await report({ sourceId: `${id}-packed`, kind: 'Packed', packageCount: 1 });
          if (random() < 0.2) await report({ sourceId: `${id}-back`, kind: 'StatusChanged', toStatus: 'PendingPicking' });
          else if (random() < 0.5) await report({ sourceId: `${id}-shipped`, kind: 'Shipped', carrier: 'PostNL', trackingNumber: `L-${n}` });
          if (random() < 0.3) {
            const again = pick(facts);
            await report({ ...again, occurredAt: again.occurredAt });
          }
        } catch (err) {
          recordGiveUp(err);
          return;
        }
      }
    };

    const load = Promise.all([...Array.from({ length: workers }, (_, w) => shipmentWorker(w)), paymentWorker(), observationWorker()]);

    // Chaos: each consumer instance SIGKILLed twice at random moments (its group rebalances each
    // time it leaves and comes back), one stall, one broker SIGKILL, one Redis restart, spread
    // over chaosMs in a seeded order.
    const plan: Array<() => Promise<void>> = [];
    for (const id of [...consumers, ...consumers]) {
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
    const gap = chaosMs / plan.length;
    for (const action of plan) {
      await sleep(gap * (0.5 + random()));
      await action();
    }
    chaosOver = true;
    note('chaos over; clients finish what they started');
    await load;
    await fleet.settled();
    const shipmentAnswers = acknowledged.filter((a) => a.kind === 'shipment').length;
    const distinct = (kind: Acknowledgement['kind']) => new Set(acknowledged.filter((a) => a.kind === kind).map((a) => a.commandId)).size;
    const [shipmentCommands, paymentCommands] = [distinct('shipment'), distinct('payment')];
    note(`load over: ${shipmentsStarted} shipments, ${payments} payments, ${shipmentCommands + paymentCommands} commands acknowledged, ${unanswered.length} given up`);

    // Everything on the topics, both ways.
    const kafka = new Kafka({ brokers: fleet.kafka.brokers, clientId: 'faults-check', logLevel: logLevel.NOTHING });
    const serde = createSerde({ registry: kafkajsRegistryClient(fleet.registry.url) });
    const topics = await readTopicHistory(kafka, serde, fleet.kafka.brokers, { note });
    note(`read back: ${topics.log.length} records read_uncommitted (markers included), ${topics.committed.length} read_committed`);

    // What the APIs answer once they have caught up (each is given time to).
    const balances: BalanceAnswer[] = [];
    for (const [accountId, want] of expectedBalances(topics.committed)) {
      const deadline = Date.now() + 60_000;
      let answer: Answer;
      do {
        answer = await http('accounting-handler', 'GET', `/accounts/${accountId}`, 'finance');
        if (answer.status === 200 && answer.body.balanceMinor === want.balanceMinor && answer.body.version === want.version) break;
        await sleep(500);
      } while (Date.now() < deadline);
      balances.push({ accountId, httpStatus: answer.status, balanceMinor: answer.body?.balanceMinor, version: answer.body?.version });
    }

    // verify compares only up to what the live model claims, so a partition the ledger lost would
    // compare empty with empty: the ledger must first be at the end of every partition.
    const ledgerRedis = new Redis(fleet.redis.url);
    const ledgerPartitionNumbers = Object.keys(topics.committedEnds).map((field) => Number(field.slice(field.lastIndexOf(':') + 1)));
    let ledgerOffsets: Record<string, string> = {};
    try {
      const caughtUpDeadline = Date.now() + 60_000;
      for (;;) {
        ledgerOffsets = await readLedgerOffsets(ledgerRedis, ledgerKeyPrefix(''), ledgerPartitionNumbers);
        if (!ledgerLag(ledgerOffsets, topics.committedEnds).length || Date.now() > caughtUpDeadline) break;
        await sleep(500);
      }
    } finally {
      await ledgerRedis.quit();
    }

    let verify = { code: -1, output: '' };
    const verifyDeadline = Date.now() + 90_000;
    do {
      if (verify.code !== -1) await sleep(2_000);
      verify = await waybill(['verify', 'ledger'], fleet);
    } while (verify.code !== 0 && Date.now() < verifyDeadline);

    const ledgerShipments: LedgerShipmentAnswer[] = [];
    for (const [shipmentId] of acknowledgedShipmentVersions(acknowledged, topics.committed)) {
      const answer = await http('ledger', 'GET', `/shipments/${shipmentId}`, 'viewer');
      ledgerShipments.push({ shipmentId, httpStatus: answer.status, version: answer.body?.version });
    }

    const verdict = checkHistory({
      ...topics,
      acknowledged,
      unanswered,
      balances,
      ledger: { offsets: ledgerOffsets, verify: { passed: verify.code === 0, output: verify.output }, shipments: ledgerShipments },
    });

    const restarts = [...fleet.members.values()].map((m) => `${m.id} ${m.restarts} restarts (${m.unplannedExits} on its own)`);
    const enoughLoad = shipmentAnswers > MINIMUM_SHIPMENT_COMMANDS;
    const report = [
      '',
      `faults suite, seed ${seed}: what was injected (consumers ${consumers.join(', ')})`,
      ...injected.map((i) => `  ${i.at.toFixed(1).padStart(6)} s  ${i.what}`),
      `  restarts: ${restarts.join(', ')}`,
      `  work dir: ${fleet.dir} (app logs in ${fleet.logsDir})`,
      '',
      `what was checked (seed ${seed}: ${shipmentCommands} shipment commands and ${paymentCommands} payments acknowledged, ${unanswered.length} given up${
        enoughLoad ? '' : `; too little load to count: ${shipmentAnswers} shipment answers, more than ${MINIMUM_SHIPMENT_COMMANDS} wanted`
      })`,
      renderHistoryTable(verdict),
      '',
    ].join('\n');
    return {
      seed,
      chaosMs,
      workers,
      instances,
      commandsAcknowledged: shipmentCommands + paymentCommands,
      shipmentCommandsAcknowledged: shipmentCommands,
      paymentsAcknowledged: paymentCommands,
      shipmentAnswers,
      unanswered: unanswered.length,
      anomalies: verdict.anomalies,
      anomaliesByKind: verdict.anomaliesByKind,
      verdict,
      passed: verdict.passed && enoughLoad,
      durationMs: Date.now() - began,
      injected,
      report,
      workDir: fleet.dir,
      logsDir: fleet.logsDir,
    };
  } finally {
    await fleet.close();
  }
}

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
