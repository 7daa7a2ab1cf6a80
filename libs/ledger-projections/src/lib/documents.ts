import type { AccountBalance } from '@waybill/accounting-domain';
import {
  TOPICS,
  type AccountingTransactionRecord,
  type CommandOutcome,
  TOPIC_RECORDS,
  type DecodedRecord,
  type ShipmentEventRecord,
  type ShipmentOutcomeRecord,
  type TransactionRecorded,
} from '@waybill/contracts';
import type { LifecycleStatus, ShipmentEventType, ShipmentState } from '@waybill/shipment-domain';

/** The topics the ledger projects, by their logical names. */
export const LEDGER_TOPICS = [TOPICS.shipmentEvents, TOPICS.shipmentOutcomes, TOPICS.accountingTransactions] as const;
export type LedgerTopic = (typeof LEDGER_TOPICS)[number];

/** Where a record sits: logical topic, partition, offset (a decimal string, like kafkajs's). */
export interface Position {
  topic: LedgerTopic;
  partition: number;
  offset: string;
}

/** One record to project, already decoded; `record.type` says which read models it feeds. */
export interface LedgerInput {
  position: Position;
  record: ShipmentEventRecord | ShipmentOutcomeRecord | AccountingTransactionRecord;
}

/**
 * A decoded message as a projection input, or undefined when the ledger does not project that
 * record type on that topic (the serde already refuses types a topic does not carry).
 */
export function toLedgerInput(topic: LedgerTopic, partition: number, offset: string, decoded: DecodedRecord): LedgerInput | undefined {
  const position = { topic, partition, offset };
  const record = { type: decoded.recordName, value: decoded.value } as LedgerInput['record'];
  const carried =
    record.type === 'CommandOutcome'
      ? topic === TOPICS.shipmentOutcomes
      : record.type === 'TransactionRecorded'
        ? topic === TOPICS.accountingTransactions
        : topic === TOPICS.shipmentEvents && isEventRecord(decoded.recordName);
  return carried ? { position, record } : undefined;
}

function isEventRecord(name: string): boolean {
  return (TOPIC_RECORDS[TOPICS.shipmentEvents] as readonly string[]).includes(name);
}

/** A shipment event as stored: the wire record's fields, its type and where it was read. */
export type EventDoc = ShipmentEventRecord['value'] & { type: ShipmentEventType; position: Position };

/** A command outcome as stored. */
export type OutcomeDoc = CommandOutcome & { position: Position };

/** An accounting transaction as stored. */
export type TransactionDoc = TransactionRecorded & { position: Position };

/** The current read model of one shipment. Times are epoch ms taken from the events. */
export interface ShipmentSummary {
  shipmentId: string;
  version: number;
  status: LifecycleStatus;
  orderId: string;
  customerAccountId: string;
  currency: string;
  totalMinor: number;
  /** Time of the first event (normally ShipmentCreated). */
  createdAt: number;
  /** Time of the last event. */
  updatedAt: number;
  /** Running maximum of event times: the instant from which the latest version is in effect. */
  effectiveAt: number;
  lastEventId: string;
  lastEventType: ShipmentEventType;
  state: ShipmentState;
}

/** A stored fold of the first `version` events, tagged with the state shape that wrote it. */
export interface StateSnapshot {
  shape: number;
  version: number;
  state: ShipmentState;
}

/** The read model of one account. `version` counts its (deduplicated) transactions. */
/** An account as the ledger shows it: the balance accounting-domain's one fold computes. */
export type AccountSummary = AccountBalance;

/** What one trace caused, as kinds in the trace index. */
export type TraceItemKind = 'event' | 'outcome' | 'transaction';
