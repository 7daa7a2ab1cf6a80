import { deadLetterTopic, TOPICS, type AccountingCommand, type AccountingCommandOutcome, type CommandOutcome, type Observation, type TransactionRecorded } from '@waybill/contracts';
import { observationCommandId } from '@waybill/shipment-messages';

// A Jepsen-style checker over everything a run left behind: every record the broker holds
// (read_uncommitted, with its producer and transaction markers), every record a read_committed
// consumer is given, what clients were told, and what the APIs answer at the end. Pure: the
// caller reads topics and asks APIs (test/faults/support/topic-history.ts), this only judges, so
// each rule is unit-tested over hand-built histories (history-checker.unit.spec.ts).

/** One record as the broker holds it, control records (transaction markers) included. */
export interface LogRecord {
  topic: string;
  partition: number;
  /** Decimal offset (Kafka offsets are int64). */
  offset: string;
  /** '-1' when the producer was neither idempotent nor transactional. */
  producerId: string;
  producerEpoch: number;
  transactional: boolean;
  /** Only on a control record: what the marker decided for its producer's open transaction. */
  marker?: 'commit' | 'abort';
}

/** One record a read_committed consumer was given, decoded (dead letters are left as bytes). */
export interface CommittedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: unknown;
  headers?: Record<string, string>;
}

/** What a client was finally told about one command (a decided answer: 2xx, or a 4xx rejection). */
export interface Acknowledgement {
  kind: 'shipment' | 'payment';
  commandId: string;
  /** Shipment id or account id. */
  aggregateId: string;
  httpStatus: number;
  /** The answer's `status`: accepted / rejected (shipments), recorded / duplicate / rejected (payments). */
  told: string;
  transactionId?: string;
}

/** A command a client gave up on: no decided answer within its deadline, however often it asked. */
export interface UnansweredCommand {
  kind: 'shipment' | 'payment';
  /** The Idempotency-Key every attempt carried. */
  idempotencyKey: string;
  request: string;
  /** The last thing the client was told, e.g. `202 pending` or `0 fetch failed`. */
  lastAnswer: string;
  waitedMs: number;
}

/** What the accounting API answered for an account at the end. */
export interface BalanceAnswer {
  accountId: string;
  httpStatus: number;
  balanceMinor?: number;
  version?: number;
}

/** What the ledger API answered for a shipment at the end. */
export interface LedgerShipmentAnswer {
  shipmentId: string;
  httpStatus: number;
  version?: number;
}

export interface LedgerObservations {
  /** The ledger's `ledger:offsets` hash: `topic:partition` → the next offset it will read. */
  offsets: Record<string, string>;
  /** `waybill verify ledger`: the read model compared key by key with a replay. */
  verify: { passed: boolean; output: string };
  shipments: LedgerShipmentAnswer[];
}

export interface History {
  /** Every record of every topic, read_uncommitted, up to each partition's high watermark. */
  log: LogRecord[];
  /** Every record read_committed returned (judged by transaction markers: committedMessages). */
  committed: CommittedRecord[];
  /** `topic:partition` → where the read_committed read ended (the last stable offset). */
  committedEnds: Record<string, string>;
  /** `topic:partition` → where the read_uncommitted read ended (the high watermark). */
  logEnds: Record<string, string>;
  acknowledged: Acknowledgement[];
  unanswered?: UnansweredCommand[];
  balances: BalanceAnswer[];
  /** Left out when the run has no ledger to ask; its three kinds then report "not checked". */
  ledger?: LedgerObservations;
}

/** Every kind the checker looks for, in the order the table lists them, with what it means. */
export const ANOMALY_KINDS = {
  'hanging transaction': 'no transaction is still open at the end of the run (read_uncommitted: a producer’s records with no marker after them)',
  'aborted read': 'read_committed returns no record of an aborted transaction',
  'uncommitted read': 'read_committed returns no record of a transaction that is still open',
  'unread commit': 'read_committed returns every committed record below its end offset',
  'duplicate version': 'no aggregate version twice (shipment.events, accounting.transactions)',
  'version gap': 'every aggregate’s versions run 1..n without a gap',
  'version out of order': 'every aggregate’s versions ascend in offset order',
  'duplicate eventId': 'no eventId twice (shipment.events, accounting.transactions)',
  'duplicate transactionId': 'no transactionId twice on accounting.transactions',
  'lost write': 'every acknowledged command is decided (an outcome on shipment.outcomes; a payment has its answer on accounting.outcomes, and one told recorded is booked)',
  'decided twice': 'no acknowledged command has two different decisions on shipment.outcomes, and no accounting command more than one answer on accounting.outcomes',
  'wrong answer': 'every client was told what the topics decided',
  'no answer': 'every command a client sent got a decided answer before the client gave up',
  'duplicate event': 'an acknowledged command’s events are on shipment.events no more than once',
  'lost event': 'an acknowledged command’s events are all on shipment.events',
  phantom: 'every event, outcome (shipment and accounting), transaction and derived command (an accounting command, a recorded observation) has its cause on its input topic',
  'balance mismatch': 'every balance (and version) the API answers equals the sum (and count) of the account’s transactions',
  'dead letter': 'nothing on a .dlq topic (the load writes only valid records)',
  'ledger behind': 'the ledger has read every partition of its topics to the end',
  'ledger differs from replay': 'the ledger read model equals a replay (waybill verify ledger)',
  'ledger missing shipment': 'the ledger shows every acknowledged shipment at its acknowledged version',
} as const;

export type AnomalyKind = keyof typeof ANOMALY_KINDS;

export const KIND_ORDER = Object.keys(ANOMALY_KINDS) as AnomalyKind[];

/** How many examples of each kind the result keeps (the table prints the first). */
const EXAMPLES_KEPT = 5;

export interface OpenTransaction {
  topic: string;
  partition: number;
  firstOffset: string;
  producerId: string;
  producerEpoch: number;
  records: number;
  /** Committed records at or past `firstOffset` that read_committed consumers cannot reach while it is open. */
  committedRecordsBlocked: number;
}

export interface KindVerdict {
  kind: AnomalyKind;
  rule: string;
  count: number;
  examples: string[];
  /** What was looked at, so a 0 says how much it covers; null when this run could not check it. */
  covered: string | null;
}

export interface HistoryVerdict {
  passed: boolean;
  anomalies: number;
  anomaliesByKind: Record<AnomalyKind, number>;
  kinds: KindVerdict[];
  openTransactions: OpenTransaction[];
}

type TransactionFate = 'committed' | 'aborted' | 'open' | 'not transactional';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;
const recordKey = (topic: string, partition: number, offset: string) => `${topic}:${partition}@${offset}`;
const byOffset = (a: { offset: string }, b: { offset: string }) => {
  const x = BigInt(a.offset);
  const y = BigInt(b.offset);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The fate of every data record in `log`, from the markers alone: each transactional record
 * belongs to its producer's open transaction on that partition until the producer's next control
 * record there, which commits or aborts all of it. What no marker follows is open.
 */
export function transactionFates(log: readonly LogRecord[]): {
  fates: Map<string, TransactionFate>;
  open: Array<Omit<OpenTransaction, 'committedRecordsBlocked'>>;
  transactions: { committed: number; aborted: number };
} {
  const fates = new Map<string, TransactionFate>();
  const open: Array<Omit<OpenTransaction, 'committedRecordsBlocked'>> = [];
  const transactions = { committed: 0, aborted: 0 };
  const partitions = new Map<string, LogRecord[]>();
  for (const record of log) {
    const key = partitionKey(record.topic, record.partition);
    const list = partitions.get(key);
    if (list) list.push(record);
    else partitions.set(key, [record]);
  }
  for (const records of partitions.values()) {
    records.sort(byOffset);
    const pending = new Map<string, { first: LogRecord; keys: string[] }>();
    for (const record of records) {
      const key = recordKey(record.topic, record.partition, record.offset);
      if (record.marker) {
        const transaction = pending.get(record.producerId);
        if (!transaction) continue; // a marker of a transaction with nothing on this partition
        pending.delete(record.producerId);
        const fate = record.marker === 'commit' ? 'committed' : 'aborted';
        transactions[fate] += 1;
        for (const k of transaction.keys) fates.set(k, fate);
      } else if (!record.transactional) {
        fates.set(key, 'not transactional');
      } else {
        const transaction = pending.get(record.producerId);
        if (transaction) transaction.keys.push(key);
        else pending.set(record.producerId, { first: record, keys: [key] });
      }
    }
    for (const { first, keys } of pending.values()) {
      for (const k of keys) fates.set(k, 'open');
      open.push({ topic: first.topic, partition: first.partition, firstOffset: first.offset, producerId: first.producerId, producerEpoch: first.producerEpoch, records: keys.length });
    }
  }
  return { fates, open, transactions };
}

interface ShipmentEventValue {
  eventId: string;
  aggregateId: string;
  version: number;
  causationId: string;
}

const valuesOf = <T>(committed: readonly CommittedRecord[], topic: string): T[] => committed.filter((r) => r.topic === topic).map((r) => r.value as T);

/** Per account, what its balance and version must be: the sum and the count of its transactions. */
export function expectedBalances(committed: readonly CommittedRecord[]): Map<string, { balanceMinor: number; version: number }> {
  const expected = new Map<string, { balanceMinor: number; version: number }>();
  for (const t of valuesOf<TransactionRecorded>(committed, TOPICS.accountingTransactions)) {
    const account = expected.get(t.aggregateId) ?? { balanceMinor: 0, version: 0 };
    account.balanceMinor += t.data.amountMinor;
    account.version += 1;
    expected.set(t.aggregateId, account);
  }
  return expected;
}

/** The ledger's topics: what its `ledger:offsets` must cover. */
export const LEDGER_TOPICS: readonly string[] = [TOPICS.shipmentEvents, TOPICS.shipmentOutcomes, TOPICS.accountingTransactions];

/** Each non-empty partition of the ledger's topics the ledger has not read to `committedEnds`. */
export function ledgerLag(offsets: Record<string, string>, committedEnds: Record<string, string>): string[] {
  const behind: string[] = [];
  for (const [field, end] of Object.entries(committedEnds)) {
    const topic = field.slice(0, field.lastIndexOf(':'));
    if (!LEDGER_TOPICS.includes(topic) || BigInt(end) === 0n) continue;
    const stored = offsets[field];
    if (stored === undefined || !/^\d+$/.test(stored) || BigInt(stored) < BigInt(end)) behind.push(`${field} at ${stored ?? 'nothing'} of ${end}`);
  }
  return behind.sort();
}

/** Per shipment, the highest version an acknowledged command took it to (what the ledger must show). */
export function acknowledgedShipmentVersions(acknowledged: readonly Acknowledgement[], committed: readonly CommittedRecord[]): Map<string, number> {
  const decided = new Map<string, CommandOutcome>();
  for (const o of valuesOf<CommandOutcome>(committed, TOPICS.shipmentOutcomes)) if (!decided.has(o.commandId)) decided.set(o.commandId, o);
  const versions = new Map<string, number>();
  for (const ack of acknowledged) {
    const outcome = ack.kind === 'shipment' ? decided.get(ack.commandId) : undefined;
    if (outcome?.status === 'Accepted') versions.set(ack.aggregateId, Math.max(versions.get(ack.aggregateId) ?? 0, outcome.version));
  }
  return versions;
}

class Findings {
  private readonly found = new Map<AnomalyKind, { count: number; examples: string[] }>();
  private readonly coverage = new Map<AnomalyKind, string | null>();

  add(kind: AnomalyKind, example: string): void {
    const entry = this.found.get(kind) ?? { count: 0, examples: [] };
    entry.count += 1;
    if (entry.examples.length < EXAMPLES_KEPT) entry.examples.push(example);
    this.found.set(kind, entry);
  }

  covered(kinds: AnomalyKind | AnomalyKind[], what: string | null): void {
    for (const kind of Array.isArray(kinds) ? kinds : [kinds]) this.coverage.set(kind, what);
  }

  verdict(openTransactions: OpenTransaction[]): HistoryVerdict {
    const kinds = KIND_ORDER.map((kind) => ({
      kind,
      rule: ANOMALY_KINDS[kind],
      count: this.found.get(kind)?.count ?? 0,
      examples: this.found.get(kind)?.examples ?? [],
      covered: this.coverage.get(kind) ?? null,
    }));
    const anomalies = kinds.reduce((n, k) => n + k.count, 0);
    const anomaliesByKind = Object.fromEntries(kinds.map((k) => [k.kind, k.count])) as Record<AnomalyKind, number>;
    return { passed: anomalies === 0, anomalies, anomaliesByKind, kinds, openTransactions };
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function checkVersions(findings: Findings, what: string, byAggregate: Map<string, number[]>): void {
  for (const [id, versions] of byAggregate) {
    const seen = new Set<number>();
    const repeated = new Set<number>();
    for (const v of versions) (seen.has(v) ? repeated : seen).add(v);
    for (const v of repeated) findings.add('duplicate version', `${what} ${id}: version ${v} ${versions.filter((x) => x === v).length} times (${versions.join(',')})`);
    const max = Math.max(...versions);
    const missing: number[] = [];
    for (let v = 1; v <= max; v += 1) if (!seen.has(v)) missing.push(v);
    if (missing.length) findings.add('version gap', `${what} ${id}: version ${missing.join(',')} missing (${versions.join(',')})`);
    else if (!repeated.size && versions.some((v, i) => v !== i + 1)) findings.add('version out of order', `${what} ${id}: ${versions.join(',')} in offset order`);
  }
}

/** Judges a whole run. Every kind is listed in the result, with 0 where nothing was found. */
export function checkHistory(history: History): HistoryVerdict {
  const findings = new Findings();
  const committed = [...history.committed].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition || byOffset(a, b) : a.topic < b.topic ? -1 : 1));

  // The log: transactions and what read_committed made of them.
  const { fates, open, transactions } = transactionFates(history.log);
  const openTransactions: OpenTransaction[] = open.map((t) => ({
    ...t,
    committedRecordsBlocked: history.log.filter(
      (r) => r.topic === t.topic && r.partition === t.partition && !r.marker && BigInt(r.offset) > BigInt(t.firstOffset) && fates.get(recordKey(r.topic, r.partition, r.offset)) !== 'open',
    ).length,
  }));
  for (const t of openTransactions) {
    const end = history.logEnds[partitionKey(t.topic, t.partition)] ?? '?';
    findings.add(
      'hanging transaction',
      `${t.topic}:${t.partition} from offset ${t.firstOffset}, producer ${t.producerId} epoch ${t.producerEpoch}: ${count(t.records, 'record')} with no commit or abort marker up to the end (${end}); ${count(t.committedRecordsBlocked, 'later record')} held back from read_committed`,
    );
  }
  const partitions = new Set(history.log.map((r) => partitionKey(r.topic, r.partition)));
  findings.covered('hanging transaction', `${transactions.committed} committed and ${transactions.aborted} aborted transactions, ${history.log.length} records on ${partitions.size} partitions`);

  const read = new Set<string>();
  for (const r of committed) {
    const key = recordKey(r.topic, r.partition, r.offset);
    read.add(key);
    const fate = fates.get(key);
    if (fate === 'aborted') findings.add('aborted read', `${key} (key ${r.key}) was returned, its transaction was aborted`);
    else if (fate === 'open') findings.add('uncommitted read', `${key} (key ${r.key}) was returned, its transaction is still open`);
    else if (fate === undefined) findings.add('uncommitted read', `${key} (key ${r.key}) was returned, the log has no such record`);
  }
  findings.covered(['aborted read', 'uncommitted read'], `${committed.length} records read_committed, judged by the log’s markers`);
  let committedInLog = 0;
  for (const r of history.log) {
    if (r.marker) continue;
    const key = recordKey(r.topic, r.partition, r.offset);
    const fate = fates.get(key);
    if (fate !== 'committed' && fate !== 'not transactional') continue;
    const end = history.committedEnds[partitionKey(r.topic, r.partition)];
    // Past the end read_committed was given, a record is not expected of it (an open
    // transaction before it holds it back: reported as a hanging transaction).
    if (end === undefined || BigInt(r.offset) >= BigInt(end)) continue;
    committedInLog += 1;
    if (!read.has(key)) findings.add('unread commit', `${key} is ${fate === 'committed' ? 'committed' : 'not transactional'}, below the end ${end}, and was not returned`);
  }
  findings.covered('unread commit', `${committedInLog} committed records below read_committed’s end offsets`);

  // The domain, as a read_committed consumer sees it.
  const commands = valuesOf<{ commandId: string }>(committed, TOPICS.shipmentCommands);
  const events = valuesOf<ShipmentEventValue>(committed, TOPICS.shipmentEvents);
  const outcomes = valuesOf<CommandOutcome>(committed, TOPICS.shipmentOutcomes);
  const accountingCommands = valuesOf<AccountingCommand>(committed, TOPICS.accountingCommands);
  const ledgerTransactions = valuesOf<TransactionRecorded>(committed, TOPICS.accountingTransactions);
  const accountingOutcomes = valuesOf<AccountingCommandOutcome>(committed, TOPICS.accountingOutcomes);

  const shipmentVersions = groupBy(events, (e) => e.aggregateId);
  const accountVersions = groupBy(ledgerTransactions, (t) => t.aggregateId);
  checkVersions(findings, 'shipment', new Map([...shipmentVersions].map(([id, list]) => [id, list.map((e) => e.version)])));
  checkVersions(findings, 'account', new Map([...accountVersions].map(([id, list]) => [id, list.map((t) => t.version)])));
  findings.covered(
    ['duplicate version', 'version gap', 'version out of order'],
    `${shipmentVersions.size} shipments (${events.length} events), ${accountVersions.size} accounts (${ledgerTransactions.length} transactions)`,
  );

  const eventCounts = new Map<string, number>();
  for (const e of events) eventCounts.set(e.eventId, (eventCounts.get(e.eventId) ?? 0) + 1);
  const transactionEventCounts = new Map<string, number>();
  for (const t of ledgerTransactions) transactionEventCounts.set(t.eventId, (transactionEventCounts.get(t.eventId) ?? 0) + 1);
  for (const [topic, counts] of [
    [TOPICS.shipmentEvents, eventCounts],
    [TOPICS.accountingTransactions, transactionEventCounts],
  ] as const) {
    for (const [id, n] of counts) if (n > 1) findings.add('duplicate eventId', `${id} is on ${topic} ${n} times`);
  }
  findings.covered('duplicate eventId', `${eventCounts.size + transactionEventCounts.size} distinct event ids`);

  const bookings = new Map<string, number>();
  for (const t of ledgerTransactions) bookings.set(t.data.transactionId, (bookings.get(t.data.transactionId) ?? 0) + 1);
  for (const [id, n] of bookings) if (n > 1) findings.add('duplicate transactionId', `${id} is on accounting.transactions ${n} times`);
  findings.covered('duplicate transactionId', `${bookings.size} distinct transaction ids`);

  // What clients were told.
  const outcomesByCommand = groupBy(outcomes, (o) => o.commandId);
  const shipmentAcks = history.acknowledged.filter((a) => a.kind === 'shipment');
  const paymentAcks = history.acknowledged.filter((a) => a.kind === 'payment');
  let repeatedAnswers = 0;
  let acknowledgedEvents = 0;
  for (const [commandId, acks] of groupBy(shipmentAcks, (a) => a.commandId)) {
    const found = outcomesByCommand.get(commandId) ?? [];
    const subject = `${commandId} (${acks[0].aggregateId})`;
    if (!found.length) {
      findings.add('lost write', `${subject}: told ${acks[0].told} (HTTP ${acks[0].httpStatus}), no outcome on shipment.outcomes`);
      continue;
    }
    repeatedAnswers += found.length - 1;
    const decisions = new Set(found.map((o) => JSON.stringify([o.status, o.version, o.eventIds])));
    if (decisions.size > 1) findings.add('decided twice', `${subject} was decided ${decisions.size} ways: ${[...decisions].join(' / ')}`);
    // A fact from a system of record is never refused: its answer says it was recorded.
    const decided = found[0].commandType === 'RecordObservation' ? 'recorded' : found[0].status === 'Accepted' ? 'accepted' : 'rejected';
    for (const ack of acks) if (ack.told !== decided) findings.add('wrong answer', `${subject}: client was told ${ack.told} (HTTP ${ack.httpStatus}), shipment.outcomes says ${decided}`);
    if (found[0].status !== 'Accepted') continue;
    for (const eventId of found[0].eventIds) {
      acknowledgedEvents += 1;
      const n = eventCounts.get(eventId) ?? 0;
      if (n === 0) findings.add('lost event', `${subject}: event ${eventId} is not on shipment.events`);
      else if (n > 1) findings.add('duplicate event', `${subject}: event ${eventId} is on shipment.events ${n} times`);
    }
  }
  // accounting-command-listener answers each command once, in the transaction that decides it; a
  // client's retry replays the same command id and is never sent again, so any second answer is a
  // command decided twice.
  const answersByCommand = groupBy(accountingOutcomes, (o) => o.commandId);
  for (const [commandId, answers] of answersByCommand) {
    if (answers.length > 1) findings.add('decided twice', `accounting command ${commandId} (${answers[0].accountId}) has ${answers.length} answers on accounting.outcomes: ${answers.map((a) => a.status).join(' / ')}`);
  }
  let recorded = 0;
  for (const ack of paymentAcks) {
    const booked = bookings.get(ack.transactionId ?? '') ?? 0;
    const subject = `payment ${ack.commandId} (${ack.aggregateId}, transaction ${ack.transactionId})`;
    if (ack.told === 'recorded') recorded += 1;
    const answer = answersByCommand.get(ack.commandId)?.[0];
    if (!answer) findings.add('lost write', `${subject}: told ${ack.told} (HTTP ${ack.httpStatus}), no answer on accounting.outcomes`);
    else if (answer.status.toLowerCase() !== ack.told) findings.add('wrong answer', `${subject}: told ${ack.told} (HTTP ${ack.httpStatus}), accounting.outcomes says ${answer.status}`);
    if ((ack.told === 'recorded' || ack.told === 'duplicate') && booked === 0) findings.add('lost write', `${subject}: told ${ack.told} (HTTP ${ack.httpStatus}), not on accounting.transactions`);
    else if (ack.told === 'rejected' && booked > 0) findings.add('wrong answer', `${subject}: told rejected (HTTP ${ack.httpStatus}), booked ${booked} times`);
    else if (ack.told !== 'recorded' && ack.told !== 'duplicate' && ack.told !== 'rejected') findings.add('wrong answer', `${subject}: told ${ack.told} (HTTP ${ack.httpStatus}), which is no decision`);
  }
  const distinctShipmentCommands = new Set(shipmentAcks.map((a) => a.commandId)).size;
  findings.covered(
    ['lost write', 'decided twice', 'wrong answer'],
    `${distinctShipmentCommands} shipment commands (${repeatedAnswers} retries answered again with the same decision), ${paymentAcks.length} payments (${recorded} recorded), ${answersByCommand.size} accounting commands answered`,
  );
  findings.covered(['duplicate event', 'lost event'], `${acknowledgedEvents} events of acknowledged commands`);

  const unanswered = history.unanswered ?? [];
  for (const u of unanswered) findings.add('no answer', `${u.kind} ${u.request} (Idempotency-Key ${u.idempotencyKey}): still ${u.lastAnswer} after ${Math.round(u.waitedMs / 1000)} s`);
  findings.covered('no answer', `${history.acknowledged.length} decided answers, ${unanswered.length} commands given up`);

  // Causes: nothing may be derived from what is not on its input topic.
  const commandIds = new Set(commands.map((c) => c.commandId));
  const accountingCommandIds = new Set(accountingCommands.map((c) => c.commandId));
  let traced = 0;
  for (const e of events) {
    traced += 1;
    if (!commandIds.has(e.causationId)) findings.add('phantom', `event ${e.eventId} (${e.aggregateId} v${e.version}): its command ${e.causationId} is not on shipment.commands`);
  }
  const reported = new Set(valuesOf<Observation>(committed, TOPICS.shipmentObservations).map((o) => observationCommandId(o.source, o.sourceId)));
  for (const c of commands as Array<{ commandId: string; aggregateId: string; role?: string; data?: { source?: string; sourceId?: string } }>) {
    if (c.role !== 'integration') continue;
    traced += 1;
    if (!reported.has(c.commandId)) findings.add('phantom', `RecordObservation ${c.commandId} (${c.aggregateId}, ${c.data?.source}/${c.data?.sourceId}): no such observation on shipment.observations`);
  }
  for (const o of outcomes) {
    traced += 1;
    if (!commandIds.has(o.commandId)) findings.add('phantom', `outcome of ${o.commandId} (${o.aggregateId}): the command is not on shipment.commands`);
  }
  for (const t of ledgerTransactions) {
    traced += 1;
    if (!accountingCommandIds.has(t.causationId)) findings.add('phantom', `transaction ${t.data.transactionId} (${t.aggregateId} v${t.version}): its command ${t.causationId} is not on accounting.commands`);
  }
  for (const o of accountingOutcomes) {
    traced += 1;
    if (!accountingCommandIds.has(o.commandId)) findings.add('phantom', `accounting answer to ${o.commandId} (${o.accountId}): the command is not on accounting.commands`);
  }
  for (const c of accountingCommands) {
    if (c.causationId === null) continue;
    traced += 1;
    if (!eventCounts.has(c.causationId)) findings.add('phantom', `accounting command ${c.commandId}: the event ${c.causationId} it was derived from is not on shipment.events`);
  }
  findings.covered('phantom', `${traced} events, outcomes, answers, transactions and derived commands traced to their causes`);

  // Answers at the end.
  const expected = expectedBalances(committed);
  const answers = new Map(history.balances.map((b) => [b.accountId, b]));
  for (const [accountId, want] of expected) {
    const got = answers.get(accountId);
    if (!got) findings.add('balance mismatch', `${accountId}: not asked; transactions sum to ${want.balanceMinor}`);
    else if (got.httpStatus !== 200 || got.balanceMinor !== want.balanceMinor) findings.add('balance mismatch', `${accountId}: balance ${got.balanceMinor} (HTTP ${got.httpStatus}), transactions sum to ${want.balanceMinor}`);
    else if (got.version !== want.version) findings.add('balance mismatch', `${accountId}: version ${got.version}, ${want.version} transactions`);
  }
  findings.covered('balance mismatch', `${expected.size} accounts`);

  const deadLetterTopics = new Set(Object.values(TOPICS).map(deadLetterTopic));
  const deadLetters = committed.filter((r) => deadLetterTopics.has(r.topic));
  for (const r of deadLetters) {
    const h = r.headers ?? {};
    findings.add('dead letter', `${recordKey(r.topic, r.partition, r.offset)}: ${h['x-consumer-group'] ?? '?'} gave up on ${h['x-original-topic'] ?? '?'}:${h['x-original-partition'] ?? '?'}@${h['x-original-offset'] ?? '?'}: ${h['x-error'] ?? '?'}`);
  }
  findings.covered('dead letter', `${deadLetterTopics.size} .dlq topics`);

  const ledger = history.ledger;
  if (ledger) {
    const behind = ledgerLag(ledger.offsets, history.committedEnds);
    for (const b of behind) findings.add('ledger behind', b);
    const ledgerPartitions = Object.entries(history.committedEnds).filter(([field, end]) => LEDGER_TOPICS.includes(field.slice(0, field.lastIndexOf(':'))) && BigInt(end) > 0n).length;
    findings.covered('ledger behind', `${ledgerPartitions} non-empty partitions`);

    if (!ledger.verify.passed) findings.add('ledger differs from replay', ledger.verify.output.trim().split('\n').slice(-12).join(' / ').slice(-1_500));
    findings.covered('ledger differs from replay', ledger.verify.output.split('\n').filter(Boolean).slice(-2).join(' / ') || 'waybill verify ledger');

    const wanted = acknowledgedShipmentVersions(history.acknowledged, committed);
    const shown = new Map(ledger.shipments.map((s) => [s.shipmentId, s]));
    for (const [id, version] of wanted) {
      const answer = shown.get(id);
      if (!answer || answer.httpStatus !== 200 || (answer.version ?? 0) < version) {
        findings.add('ledger missing shipment', `${id}: ledger says ${answer ? `HTTP ${answer.httpStatus} v${answer.version}` : 'nothing (not asked)'}, acknowledged up to v${version}`);
      }
    }
    findings.covered('ledger missing shipment', `${wanted.size} shipments`);
  }

  return findings.verdict(openTransactions);
}

/** The table a reader sees: every kind, its count, and its first example (or what it covered). */
export function renderHistoryTable(verdict: HistoryVerdict): string {
  const width = Math.max(...verdict.kinds.map((k) => k.kind.length));
  const failing = verdict.kinds.filter((k) => k.count > 0).length;
  const lines = [`history checker: ${verdict.anomalies === 0 ? 'no anomalies' : verdict.anomalies === 1 ? '1 anomaly' : `${verdict.anomalies} anomalies`} (${failing} of ${verdict.kinds.length} kinds)`];
  for (const k of verdict.kinds) {
    const result = k.covered === null ? 'n/a ' : k.count === 0 ? 'PASS' : 'FAIL';
    const detail = k.count > 0 ? `first: ${k.examples[0]}` : k.covered === null ? 'not checked in this run' : k.covered;
    lines.push(`  ${result}  ${k.kind.padEnd(width)}  ${String(k.count).padStart(6)}  ${detail}`);
  }
  return lines.join('\n');
}
