import type { AccountSummary, EventDoc, OutcomeDoc, ShipmentSummary, TraceItem, TransactionDoc } from '@waybill/ledger-projections';
import { allowedCommands } from '@waybill/shipment-domain';
import type { Acknowledgement } from '../alerts';
import { iso } from './params';

// What the API shows of each stored document: ISO times beside the epoch ms of the records.

/**
 * An event on both time axes: `occurredAt` (= `at`, and `timestamp` in epoch ms, kept for older
 * clients) is the business time, `recordedAt` when Waybill recorded it. `observation` is set for a
 * fact a system of record reported: `observedBy` did it in `source`, `reportedBy` (the event's
 * `initiatedBy`) is the integration that reported it, `violation` the rule it broke.
 */
export function eventView(doc: EventDoc, judgedAfter?: EventDoc | null) {
  return {
    eventId: doc.eventId,
    type: doc.type,
    shipmentId: doc.aggregateId,
    version: doc.version,
    traceId: doc.traceId,
    causationId: doc.causationId,
    initiatedBy: doc.initiatedBy,
    at: iso(doc.timestamp),
    timestamp: doc.timestamp,
    occurredAt: iso(doc.timestamp),
    // A document projected before recording times were kept has none: its business time stands in.
    recordedAt: iso(doc.recordedAt ?? doc.timestamp),
    observation: observationView(doc, judgedAfter),
    data: doc.data,
    position: doc.position,
  };
}

/** The event a violating fact followed on the business axis: what it was judged against. */
export function previousView(doc: EventDoc) {
  return {
    eventId: doc.eventId,
    type: doc.type,
    version: doc.version,
    initiatedBy: doc.initiatedBy,
    observedBy: doc.observation?.observedBy ?? null,
    occurredAt: iso(doc.timestamp),
    recordedAt: iso(doc.recordedAt ?? doc.timestamp),
  };
}

export function observationView(doc: EventDoc, judgedAfter?: EventDoc | null) {
  const mark = doc.observation;
  if (!mark) return null;
  const violation = mark.violation;
  return {
    source: mark.source,
    sourceId: mark.sourceId,
    process: mark.process,
    observedBy: mark.observedBy,
    reportedBy: doc.initiatedBy,
    violation: violation
      ? {
          code: violation.code,
          rule: violation.rule,
          fromStatus: violation.fromStatus,
          transition: violation.transition,
          ...(judgedAfter === undefined ? {} : { previous: judgedAfter && previousView(judgedAfter) }),
        }
      : null,
  };
}

export function summaryView(s: ShipmentSummary) {
  return {
    shipmentId: s.shipmentId,
    orderId: s.orderId,
    status: s.status,
    version: s.version,
    customerAccountId: s.customerAccountId,
    totalMinor: s.totalMinor,
    currency: s.currency,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

export function shipmentView(s: ShipmentSummary) {
  return {
    ...summaryView(s),
    lastEvent: { eventId: s.lastEventId, type: s.lastEventType },
    allowedCommands: allowedCommands(s.status),
    state: s.state,
    // Its events are past the retention window: history is read from Kafka, and feeds and traces no longer list them.
    archived: s.archive !== undefined,
  };
}

export function outcomeView(doc: OutcomeDoc) {
  return {
    id: doc.eventId,
    commandId: doc.commandId,
    commandType: doc.commandType,
    shipmentId: doc.aggregateId,
    status: doc.status,
    version: doc.version,
    eventIds: doc.eventIds,
    rejection: doc.rejection,
    alert: doc.alert,
    violation: doc.violation ?? null,
    initiatedBy: doc.initiatedBy,
    role: doc.role,
    traceId: doc.traceId,
    at: iso(doc.timestamp),
    timestamp: doc.timestamp,
    recordedAt: doc.recordedAt === undefined ? null : iso(doc.recordedAt),
    position: doc.position,
  };
}

/**
 * An alert: a command the rules refused (`rejected-command`: who tried what from which status) or
 * an observed fact recorded although it broke a rule (`rule-violation`: `violation.observedBy` did
 * `violation.transition` from `violation.fromStatus` in `violation.source`, reported by `initiatedBy`).
 */
export function alertView(doc: OutcomeDoc, ack: Acknowledgement | null) {
  return {
    ...outcomeView(doc),
    kind: doc.violation ? ('rule-violation' as const) : ('rejected-command' as const),
    acknowledged: ack !== null,
    acknowledgedBy: ack?.by ?? null,
    acknowledgedAt: ack?.at ?? null,
  };
}

export function transactionView(doc: TransactionDoc) {
  return {
    transactionId: doc.data.transactionId,
    accountId: doc.data.accountId,
    kind: doc.data.kind,
    amountMinor: doc.data.amountMinor,
    currency: doc.data.currency,
    reason: doc.data.reason,
    shipmentId: doc.data.shipmentId,
    sourceEventId: doc.data.sourceEventId,
    eventId: doc.eventId,
    traceId: doc.traceId,
    initiatedBy: doc.initiatedBy,
    at: iso(doc.timestamp),
    timestamp: doc.timestamp,
    position: doc.position,
  };
}

export function accountView(a: AccountSummary) {
  return {
    accountId: a.accountId,
    balanceMinor: a.balanceMinor,
    currency: a.currency,
    version: a.version,
    firstTransactionAt: iso(a.firstTransactionAt),
    lastTransactionAt: iso(a.lastTransactionAt),
  };
}

export function traceItemView(item: TraceItem) {
  switch (item.kind) {
    case 'event':
      return { kind: item.kind, at: iso(item.at), event: eventView(item.doc) };
    case 'outcome':
      return { kind: item.kind, at: iso(item.at), outcome: outcomeView(item.doc) };
    case 'transaction':
      return { kind: item.kind, at: iso(item.at), transaction: transactionView(item.doc) };
  }
}
