import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadLetterTopic, TOPICS } from '@waybill/contracts';
import { observationCommandId } from '@waybill/shipment-messages';
import {
  acknowledgedShipmentVersions,
  checkHistory,
  expectedBalances,
  KIND_ORDER,
  ledgerLag,
  renderHistoryTable,
  transactionFates,
  type AnomalyKind,
  type CommittedRecord,
  type History,
  type HistoryVerdict,
  type KindVerdict,
  type LedgerObservations,
  type LogRecord,
} from './history-checker';

// Hand-built histories: a clean one the checker must pass, and one fault per kind it must name.

const TRANSACTIONAL_PRODUCER = '7';
const HANDLER_PRODUCER = '3';

interface Write {
  topic: string;
  key: string;
  value: unknown;
  partition?: number;
  headers?: Record<string, string>;
  /** How the write ends: committed (default), aborted, or left open. Commands are written without transactions. */
  fate?: 'commit' | 'abort' | 'open';
  producerId?: string;
  /** Left out of what read_committed returned (to test the reader's side). */
  unread?: boolean;
  /** Returned by read_committed whatever its fate (to test the reader's side). */
  readAnyway?: boolean;
}

const NOT_TRANSACTIONAL = new Set<string>([TOPICS.shipmentCommands, TOPICS.shipmentObservations, ...Object.values(TOPICS).map(deadLetterTopic)]);

/** Offsets, log records with markers and the read_committed view for `writes`, in order. */
function topicsOf(writes: Write[]): Pick<History, 'log' | 'committed' | 'committedEnds' | 'logEnds'> {
  const next = new Map<string, number>();
  const log: LogRecord[] = [];
  const committed: CommittedRecord[] = [];
  const take = (topic: string, partition: number) => {
    const key = `${topic}:${partition}`;
    const offset = next.get(key) ?? 0;
    next.set(key, offset + 1);
    return String(offset);
  };
  for (const w of writes) {
    const partition = w.partition ?? 0;
    const offset = take(w.topic, partition);
    const transactional = !NOT_TRANSACTIONAL.has(w.topic);
    const producerId = w.producerId ?? (transactional ? TRANSACTIONAL_PRODUCER : HANDLER_PRODUCER);
    log.push({ topic: w.topic, partition, offset, producerId, producerEpoch: 0, transactional });
    const fate = transactional ? (w.fate ?? 'commit') : 'commit';
    if (transactional && fate !== 'open') log.push({ topic: w.topic, partition, offset: take(w.topic, partition), producerId, producerEpoch: 0, transactional: true, marker: fate });
    if ((fate === 'commit' && !w.unread) || w.readAnyway) committed.push({ topic: w.topic, partition, offset, key: w.key, value: w.value, headers: w.headers });
  }
  const ends = Object.fromEntries([...next].map(([k, v]) => [k, String(v)]));
  return { log, committed, committedEnds: ends, logEnds: ends };
}

const command = (commandId: string, shipmentId: string): Write => ({ topic: TOPICS.shipmentCommands, key: shipmentId, value: { commandId, aggregateId: shipmentId } });
const event = (commandId: string, shipmentId: string, version: number, index = 0): Write => ({
  topic: TOPICS.shipmentEvents,
  key: shipmentId,
  value: { eventId: `${commandId}:${index}`, aggregateId: shipmentId, version, causationId: commandId },
});
const outcome = (commandId: string, shipmentId: string, version: number, status: 'Accepted' | 'Rejected' = 'Accepted', eventIds = status === 'Accepted' ? [`${commandId}:0`] : []): Write => ({
  topic: TOPICS.shipmentOutcomes,
  key: shipmentId,
  value: { commandId, aggregateId: shipmentId, status, version, eventIds },
});
const accountingCommand = (commandId: string, accountId: string, causationId: string | null): Write => ({
  topic: TOPICS.accountingCommands,
  key: accountId,
  value: { commandId, aggregateId: accountId, causationId, data: { transactionId: commandId, accountId, amountMinor: 0 } },
});
const transaction = (commandId: string, accountId: string, version: number, amountMinor: number): Write => ({
  topic: TOPICS.accountingTransactions,
  key: accountId,
  value: { eventId: `${commandId}:0`, aggregateId: accountId, version, causationId: commandId, data: { transactionId: commandId, accountId, amountMinor } },
});

const answer = (commandId: string, accountId: string, status: 'Recorded' | 'Duplicate' | 'Rejected' = 'Recorded'): Write => ({
  topic: TOPICS.accountingOutcomes,
  key: accountId,
  value: { commandId, accountId, transactionId: commandId, status },
});

/** Shipment FS-1 created and released (a charge of 500 on FA-1), and a payment of 200 on FA-1. */
function cleanWrites(): Write[] {
  return [
    command('c1', 'FS-1'),
    event('c1', 'FS-1', 1),
    outcome('c1', 'FS-1', 1),
    command('c2', 'FS-1'),
    event('c2', 'FS-1', 2),
    outcome('c2', 'FS-1', 2),
    command('c3', 'FS-1'),
    outcome('c3', 'FS-1', 2, 'Rejected'),
    accountingCommand('charge:c1:0', 'FA-1', 'c1:0'),
    transaction('charge:c1:0', 'FA-1', 1, 500),
    answer('charge:c1:0', 'FA-1'),
    accountingCommand('pay-1', 'FA-1', null),
    transaction('pay-1', 'FA-1', 2, -200),
    answer('pay-1', 'FA-1'),
  ];
}

/** A ledger caught up with `ends`, identical to a replay, showing FS-1 at v2. */
function ledgerAt(ends: Record<string, string>): LedgerObservations {
  return {
    offsets: Object.fromEntries(Object.entries(ends).filter(([k]) => /^(shipment\.events|shipment\.outcomes|accounting\.transactions):/.test(k))),
    verify: { passed: true, output: 'ledger read model: 12 keys\nidentical to a replay\n' },
    shipments: [{ shipmentId: 'FS-1', httpStatus: 200, version: 2 }],
  };
}

function historyOf(writes: Write[], overrides: Partial<History> = {}): History {
  const topics = topicsOf(writes);
  return {
    ...topics,
    acknowledged: [
      { kind: 'shipment', commandId: 'c1', aggregateId: 'FS-1', httpStatus: 201, told: 'accepted' },
      { kind: 'shipment', commandId: 'c2', aggregateId: 'FS-1', httpStatus: 200, told: 'accepted' },
      { kind: 'shipment', commandId: 'c3', aggregateId: 'FS-1', httpStatus: 409, told: 'rejected' },
      { kind: 'payment', commandId: 'pay-1', aggregateId: 'FA-1', httpStatus: 201, told: 'recorded', transactionId: 'pay-1' },
    ],
    balances: [{ accountId: 'FA-1', httpStatus: 200, balanceMinor: 300, version: 2 }],
    ledger: ledgerAt(topics.committedEnds),
    ...overrides,
  };
}

/** The kinds with anomalies, and how many. */
function found(history: History): Partial<Record<AnomalyKind, number>> {
  const verdict = checkHistory(history);
  return Object.fromEntries(verdict.kinds.filter((k) => k.count > 0).map((k) => [k.kind, k.count]));
}

function verdictOf(verdict: HistoryVerdict, kind: AnomalyKind): KindVerdict {
  const found = verdict.kinds.find((k) => k.kind === kind);
  if (!found) throw new Error(`no ${kind} in the verdict`);
  return found;
}

function firstExample(history: History, kind: AnomalyKind): string {
  return verdictOf(checkHistory(history), kind).examples[0];
}

describe('history checker', () => {
  it('passes a clean history and lists every kind with 0 and what it covered', () => {
    const verdict = checkHistory(historyOf(cleanWrites()));
    expect(verdict.passed).toBe(true);
    expect(verdict.anomalies).toBe(0);
    expect(verdict.kinds.map((k) => k.kind)).toEqual(KIND_ORDER);
    expect(verdict.kinds.every((k) => k.count === 0 && k.covered !== null)).toBe(true);
    const table = renderHistoryTable(verdict);
    for (const kind of KIND_ORDER) expect(table).toContain(kind);
    expect(table).toContain('no anomalies');
    expect(verdictOf(verdict, 'hanging transaction').covered).toMatch(/^11 committed and 0 aborted transactions/);
  });

  it('says which kinds it could not check when there is no ledger to ask', () => {
    const verdict = checkHistory(historyOf(cleanWrites(), { ledger: undefined }));
    expect(verdict.passed).toBe(true);
    expect(verdict.kinds.filter((k) => k.covered === null).map((k) => k.kind)).toEqual(['ledger behind', 'ledger differs from replay', 'ledger missing shipment']);
    expect(renderHistoryTable(verdict)).toContain('not checked in this run');
  });

  describe('transaction fates from markers', () => {
    it('judges each producer’s records by its own next marker on the partition, and leaves the rest open', () => {
      const at = (offset: number, producerId: string, extra: Partial<LogRecord> = {}): LogRecord => ({ topic: 't', partition: 0, offset: String(offset), producerId, producerEpoch: 0, transactional: true, ...extra });
      const { fates, open, transactions } = transactionFates([
        at(0, 'A'),
        at(1, 'B'),
        at(2, 'A'),
        at(3, 'A', { marker: 'abort' }),
        at(4, 'C', { transactional: false }),
        at(5, 'B', { marker: 'commit' }),
        at(6, 'A'),
      ]);
      expect([0, 1, 2, 4, 6].map((o) => fates.get(`t:0@${o}`))).toEqual(['aborted', 'committed', 'aborted', 'not transactional', 'open']);
      expect(transactions).toEqual({ committed: 1, aborted: 1 });
      expect(open).toEqual([{ topic: 't', partition: 0, firstOffset: '6', producerId: 'A', producerEpoch: 0, records: 1 }]);
    });

    it('orders by offset as int64, not as text', () => {
      const record = (offset: string, marker?: 'commit'): LogRecord => ({ topic: 't', partition: 0, offset, producerId: 'A', producerEpoch: 0, transactional: true, marker });
      const { fates } = transactionFates([record('10', 'commit'), record('9')]);
      expect(fates.get('t:0@9')).toBe('committed');
    });
  });

  it('reports a hanging transaction with its partition, first offset and producer', () => {
    const writes = cleanWrites();
    writes.splice(4, 0, { ...event('c9', 'FS-9', 1), fate: 'open', producerId: '42' });
    const history = historyOf(writes);
    expect(found(history)).toEqual({ 'hanging transaction': 1 });
    const verdict = checkHistory(history);
    expect(verdict.openTransactions).toEqual([{ topic: 'shipment.events', partition: 0, firstOffset: '2', producerId: '42', producerEpoch: 0, records: 1, committedRecordsBlocked: 1 }]);
    expect(firstExample(history, 'hanging transaction')).toMatch(/^shipment\.events:0 from offset 2, producer 42 epoch 0: 1 record with no commit or abort marker/);
  });

  it('reports records read_committed returned from aborted and open transactions', () => {
    const writes = cleanWrites();
    writes.push({ ...event('c8', 'FS-8', 1), fate: 'abort', readAnyway: true }, { ...event('c9', 'FS-9', 1), fate: 'open', producerId: '42', readAnyway: true });
    const f = found(historyOf(writes));
    expect(f['aborted read']).toBe(1);
    expect(f['uncommitted read']).toBe(1);
    expect(f['hanging transaction']).toBe(1);
    expect(firstExample(historyOf(writes), 'aborted read')).toMatch(/^shipment\.events:0@\d+ \(key FS-8\)/);
  });

  it('reports a committed record read_committed did not return, but not one past its end', () => {
    const writes = cleanWrites();
    writes[1] = { ...writes[1], unread: true };
    expect(found(historyOf(writes))).toMatchObject({ 'unread commit': 1 });

    const history = historyOf(cleanWrites());
    history.committedEnds = { ...history.committedEnds, 'shipment.events:0': '0' };
    history.committed = history.committed.filter((r) => r.topic !== TOPICS.shipmentEvents);
    expect(found(history)['unread commit']).toBeUndefined();
  });

  it('reports duplicate versions, version gaps and versions out of order, per aggregate', () => {
    const duplicate = cleanWrites();
    duplicate.splice(2, 0, { ...event('c1', 'FS-1', 1), value: { eventId: 'c1:x', aggregateId: 'FS-1', version: 1, causationId: 'c1' } });
    expect(found(historyOf(duplicate))).toEqual({ 'duplicate version': 1 });

    const gap = cleanWrites();
    gap[4] = event('c2', 'FS-1', 3);
    expect(found(historyOf(gap))).toEqual({ 'version gap': 1 });
    expect(firstExample(historyOf(gap), 'version gap')).toBe('shipment FS-1: version 2 missing (1,3)');

    const accountGap = cleanWrites();
    accountGap[12] = transaction('pay-1', 'FA-1', 3, -200);
    expect(found(historyOf(accountGap))).toEqual({ 'version gap': 1 });

    const swapped = cleanWrites();
    [swapped[1], swapped[4]] = [swapped[4], swapped[1]];
    expect(found(historyOf(swapped))).toEqual({ 'version out of order': 1 });
  });

  it('reports an event delivered twice as a duplicate eventId, a duplicate event and a duplicate version', () => {
    const writes = cleanWrites();
    writes.splice(5, 0, event('c2', 'FS-1', 2));
    expect(found(historyOf(writes))).toEqual({ 'duplicate eventId': 1, 'duplicate event': 1, 'duplicate version': 1 });
    expect(firstExample(historyOf(writes), 'duplicate event')).toBe('c2 (FS-1): event c2:0 is on shipment.events 2 times');
  });

  it('reports a transaction booked twice', () => {
    const writes = cleanWrites();
    writes.push({ ...transaction('pay-1', 'FA-1', 3, -200), value: { eventId: 'pay-1:again', aggregateId: 'FA-1', version: 3, causationId: 'pay-1', data: { transactionId: 'pay-1', accountId: 'FA-1', amountMinor: -200 } } });
    const history = historyOf(writes, { balances: [{ accountId: 'FA-1', httpStatus: 200, balanceMinor: 100, version: 3 }] });
    expect(found(history)).toEqual({ 'duplicate transactionId': 1 });
  });

  it('reports acknowledged commands with no decision: a shipment command without outcome, a recorded payment not booked', () => {
    const writes = cleanWrites().filter((w) => !(w.topic === TOPICS.shipmentOutcomes && (w.value as { commandId: string }).commandId === 'c2'));
    expect(found(historyOf(writes))).toEqual({ 'lost write': 1 });

    const unbooked = cleanWrites().filter((w) => !(w.topic === TOPICS.accountingTransactions && (w.value as { causationId: string }).causationId === 'pay-1'));
    const history = historyOf(unbooked, { balances: [{ accountId: 'FA-1', httpStatus: 200, balanceMinor: 500, version: 1 }] });
    expect(found(history)).toEqual({ 'lost write': 1 });
    expect(firstExample(history, 'lost write')).toMatch(/^payment pay-1 \(FA-1, transaction pay-1\): told recorded/);
  });

  it('reports an accounting command answered twice, a payment without its answer, and an answer the client was not told', () => {
    const twice = cleanWrites();
    twice.push(answer('charge:c1:0', 'FA-1', 'Duplicate'));
    expect(found(historyOf(twice))).toEqual({ 'decided twice': 1 });
    expect(firstExample(historyOf(twice), 'decided twice')).toMatch(/^accounting command charge:c1:0 \(FA-1\) has 2 answers on accounting.outcomes: Recorded \/ Duplicate/);

    const unanswered = cleanWrites().filter((w) => !(w.topic === TOPICS.accountingOutcomes && (w.value as { commandId: string }).commandId === 'pay-1'));
    expect(found(historyOf(unanswered))).toEqual({ 'lost write': 1 });
    expect(firstExample(historyOf(unanswered), 'lost write')).toMatch(/no answer on accounting.outcomes/);

    const told = historyOf(cleanWrites());
    told.acknowledged = told.acknowledged.map((a) => (a.kind === 'payment' ? { ...a, told: 'duplicate', httpStatus: 200 } : a));
    expect(found(told)).toEqual({ 'wrong answer': 1 });
  });

  it('allows a retry to be answered again with the same decision, not with another one', () => {
    const again = cleanWrites();
    again.push(outcome('c2', 'FS-1', 2));
    expect(found(historyOf(again))).toEqual({});

    const differently = cleanWrites();
    differently.push(outcome('c2', 'FS-1', 2, 'Rejected'));
    expect(found(historyOf(differently))).toEqual({ 'decided twice': 1 });
  });

  it('reports a client told something the topics did not decide', () => {
    const history = historyOf(cleanWrites());
    history.acknowledged = history.acknowledged.map((a) => (a.commandId === 'c3' ? { ...a, told: 'accepted', httpStatus: 200 } : a));
    expect(found(history)).toEqual({ 'wrong answer': 1 });

    const rejectedPayment = historyOf(cleanWrites());
    rejectedPayment.acknowledged = rejectedPayment.acknowledged.map((a) => (a.kind === 'payment' ? { ...a, told: 'rejected', httpStatus: 422 } : a));
    // Twice wrong: it was booked, and its answer on accounting.outcomes says Recorded.
    expect(found(rejectedPayment)).toEqual({ 'wrong answer': 2 });
  });

  it('reports a command a client gave up on', () => {
    const history = historyOf(cleanWrites(), {
      unanswered: [{ kind: 'payment', idempotencyKey: 'pay-7', request: 'POST /accounts/FA-1/payments', lastAnswer: '202 pending', waitedMs: 150_000 }],
    });
    expect(found(history)).toEqual({ 'no answer': 1 });
    expect(firstExample(history, 'no answer')).toBe('payment POST /accounts/FA-1/payments (Idempotency-Key pay-7): still 202 pending after 150 s');
  });

  it('reports an accepted command whose event is not on shipment.events', () => {
    const writes = cleanWrites();
    writes[5] = outcome('c2', 'FS-1', 2, 'Accepted', ['c2:0', 'c2:1']);
    expect(found(historyOf(writes))).toEqual({ 'lost event': 1 });
  });

  it('reports phantoms: events, outcomes, answers, transactions and derived commands without their cause', () => {
    const noCommand = cleanWrites().filter((w) => !(w.topic === TOPICS.shipmentCommands && (w.value as { commandId: string }).commandId === 'c2'));
    expect(found(historyOf(noCommand))).toEqual({ phantom: 2 });
    expect(firstExample(historyOf(noCommand), 'phantom')).toBe('event c2:0 (FS-1 v2): its command c2 is not on shipment.commands');

    // Its transaction and its answer.
    const noAccountingCommand = cleanWrites().filter((w) => !(w.topic === TOPICS.accountingCommands && (w.value as { commandId: string }).commandId === 'pay-1'));
    expect(found(historyOf(noAccountingCommand))).toEqual({ phantom: 2 });
    expect(verdictOf(checkHistory(historyOf(noAccountingCommand)), 'phantom').examples).toContain('accounting answer to pay-1 (FA-1): the command is not on accounting.commands');

    const chargeFromNowhere = cleanWrites();
    chargeFromNowhere[8] = accountingCommand('charge:c1:0', 'FA-1', 'c7:0');
    expect(found(historyOf(chargeFromNowhere))).toEqual({ phantom: 1 });
  });

  it('traces a recorded observation to its fact on shipment.observations, and expects its client to have been told recorded', () => {
    const id = observationCommandId('legacy-wms', 'wms-6');
    const observed = (withFact: boolean): Write[] => [
      ...cleanWrites(),
      ...(withFact ? [{ topic: TOPICS.shipmentObservations, key: 'FS-9', value: { shipmentId: 'FS-9', source: 'legacy-wms', sourceId: 'wms-6' } }] : []),
      { topic: TOPICS.shipmentCommands, key: 'FS-9', value: { commandId: id, aggregateId: 'FS-9', role: 'integration', data: { source: 'legacy-wms', sourceId: 'wms-6' } } },
      event(id, 'FS-9', 1),
      { ...outcome(id, 'FS-9', 1), value: { commandId: id, aggregateId: 'FS-9', commandType: 'RecordObservation', status: 'Accepted', version: 1, eventIds: [`${id}:0`] } },
    ];
    // No ledger in this history: the ledger's kinds are judged elsewhere.
    const told = (what: string) => ({ acknowledged: [{ kind: 'shipment' as const, commandId: id, aggregateId: 'FS-9', httpStatus: 200, told: what }], ledger: undefined });
    expect(found(historyOf(observed(true), told('recorded')))).toEqual({});
    expect(found(historyOf(observed(true), told('accepted')))).toEqual({ 'wrong answer': 1 });
    expect(found(historyOf(observed(false), told('recorded')))).toEqual({ phantom: 1 });
    expect(firstExample(historyOf(observed(false)), 'phantom')).toBe(`RecordObservation ${id} (FS-9, legacy-wms/wms-6): no such observation on shipment.observations`);
  });

  it('reports a balance or a version the API answers that its transactions do not add up to', () => {
    expect(found(historyOf(cleanWrites(), { balances: [{ accountId: 'FA-1', httpStatus: 200, balanceMinor: 500, version: 2 }] }))).toEqual({ 'balance mismatch': 1 });
    expect(found(historyOf(cleanWrites(), { balances: [{ accountId: 'FA-1', httpStatus: 200, balanceMinor: 300, version: 1 }] }))).toEqual({ 'balance mismatch': 1 });
    expect(found(historyOf(cleanWrites(), { balances: [{ accountId: 'FA-1', httpStatus: 404 }] }))).toEqual({ 'balance mismatch': 1 });
    expect(found(historyOf(cleanWrites(), { balances: [] }))).toEqual({ 'balance mismatch': 1 });
  });

  it('reports every dead letter with who gave up on what', () => {
    const writes = cleanWrites();
    writes.push({
      topic: deadLetterTopic(TOPICS.shipmentEvents),
      key: 'FS-1',
      value: Buffer.from('x'),
      headers: { 'x-consumer-group': 'ledger', 'x-original-topic': 'shipment.events', 'x-original-partition': '0', 'x-original-offset': '4', 'x-error': 'unknown schema id' },
    });
    expect(found(historyOf(writes))).toEqual({ 'dead letter': 1 });
    expect(firstExample(historyOf(writes), 'dead letter')).toBe('shipment.events.dlq:0@0: ledger gave up on shipment.events:0@4: unknown schema id');
  });

  it('reports the ledger behind, different from a replay, or missing an acknowledged shipment', () => {
    const base = historyOf(cleanWrites());
    const ledger = ledgerAt(base.committedEnds);
    expect(found({ ...base, ledger: { ...ledger, offsets: { ...ledger.offsets, 'shipment.events:0': '1' } } })).toEqual({ 'ledger behind': 1 });
    expect(found({ ...base, ledger: { ...ledger, offsets: {} } })).toEqual({ 'ledger behind': 3 });
    expect(found({ ...base, ledger: { ...ledger, verify: { passed: false, output: 'ledger:shipment:FS-1 differs\n1 key differs\n' } } })).toEqual({ 'ledger differs from replay': 1 });
    expect(found({ ...base, ledger: { ...ledger, shipments: [{ shipmentId: 'FS-1', httpStatus: 200, version: 1 }] } })).toEqual({ 'ledger missing shipment': 1 });
    expect(found({ ...base, ledger: { ...ledger, shipments: [] } })).toEqual({ 'ledger missing shipment': 1 });
  });

  it('derives what the caller waits for: balances, the ledger’s lag and acknowledged versions', () => {
    const history = historyOf(cleanWrites());
    expect(expectedBalances(history.committed)).toEqual(new Map([['FA-1', { balanceMinor: 300, version: 2 }]]));
    expect(ledgerLag({ 'shipment.events:0': '4', 'shipment.outcomes:0': '5' }, history.committedEnds)).toEqual(['accounting.transactions:0 at nothing of 4', 'shipment.outcomes:0 at 5 of 6']);
    expect(acknowledgedShipmentVersions(history.acknowledged, history.committed)).toEqual(new Map([['FS-1', 2]]));
  });

  it('is documented: README’s table of the history checker lists every kind', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('#### The history checker'));
    const rows = section.slice(0, section.indexOf('\n\n', section.indexOf('| kind |'))).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| kind') && !l.startsWith('| ---'));
    const documented = rows.flatMap((row) => row.split('|')[1].trim().split(' / '));
    expect(documented.sort()).toEqual([...KIND_ORDER].sort());
  });
});
