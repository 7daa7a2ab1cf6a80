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
  /**
   * The Kafka record's timestamp (epoch ms): when Waybill recorded it (the reducer's producer sets
   * it, and it survives replays). An input without one counts as recorded at its business time.
   */
  recordedAt?: number;
}

/**
 * A decoded message as a projection input, or undefined when the ledger does not project that
 * record type on that topic (the serde already refuses types a topic does not carry).
 * `recordTimestamp` is the Kafka record's timestamp, when Waybill recorded it: required, so the
 * live projection, `waybill rebuild` and `verify` all store the same `recordedAt`.
 */
export function toLedgerInput(topic: LedgerTopic, partition: number, offset: string, decoded: DecodedRecord, recordTimestamp: string | number): LedgerInput | undefined {
  const position = { topic, partition, offset };
  const record = { type: decoded.recordName, value: decoded.value } as LedgerInput['record'];
  const carried =
    record.type === 'CommandOutcome'
      ? topic === TOPICS.shipmentOutcomes
      : record.type === 'TransactionRecorded'
        ? topic === TOPICS.accountingTransactions
        : topic === TOPICS.shipmentEvents && isEventRecord(decoded.recordName);
  if (!carried) return undefined;
  const recordedAt = recordTimestamp === undefined ? NaN : Number(recordTimestamp);
  return Number.isSafeInteger(recordedAt) && recordedAt >= 0 ? { position, record, recordedAt } : { position, record };
}

function isEventRecord(name: string): boolean {
  return (TOPIC_RECORDS[TOPICS.shipmentEvents] as readonly string[]).includes(name);
}

/**
 * A shipment event as stored: the wire record's fields, its type, where it was read and when it was
 * recorded. Two times: `timestamp` is the business time (when it happened: the handler's clock for
 * Waybill's own decisions, occurredAt for an observed fact), `recordedAt` when Waybill recorded it
 * (the Kafka record timestamp on shipment.events).
 */
export type EventDoc = ShipmentEventRecord['value'] & { type: ShipmentEventType; position: Position; recordedAt: number };

/** A command outcome as stored; `recordedAt` is its Kafka record timestamp on shipment.outcomes. */
export type OutcomeDoc = CommandOutcome & { position: Position; recordedAt?: number };

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
  /** Running maximum of the times the events were recorded: from this instant on Waybill knew the latest version. */
  recordedAt?: number;
  /**
   * How many observed facts arrived late: recorded after an event with a later business time. 0
   * (or absent) means the business axis is the version order, and every as-of is a version cut.
   */
  lateEvents?: number;
  lastEventId: string;
  lastEventType: ShipmentEventType;
  state: ShipmentState;
  /** Set once the retention window archived the shipment's events: they are read from Kafka by these positions. */
  archive?: ShipmentArchive;
}

/**
 * What Redis keeps of a shipment whose events the retention window archived: where each archived
 * event sits on shipment.events, in version order, as `<partition>:<offset>`. Events after `version`
 * (a correction that reopened the shipment) are still in Redis.
 */
export interface ShipmentArchive {
  /** The last archived version: 1 … version are on Kafka only. */
  version: number;
  positions: string[];
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
