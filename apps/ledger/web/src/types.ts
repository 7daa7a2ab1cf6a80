// What the ledger's query API answers (see apps/ledger/src/http/views.ts and openapi.ts).

export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export interface LedgerEvent {
  eventId: string;
  type: string;
  shipmentId: string;
  version: number;
  traceId: string;
  causationId: string;
  initiatedBy: string;
  at: string;
  timestamp: number;
  /** Business time: when it happened (= at). */
  occurredAt: string;
  /** When Waybill recorded it. */
  recordedAt: string;
  observation: Observation | null;
  data?: Record<string, unknown>;
  position: Position;
}

/** A fact a system of record reported: `observedBy` did it in `source`; `reportedBy` is the integration. */
export interface Observation {
  source: string;
  sourceId: string;
  process: string | null;
  observedBy: string;
  reportedBy: string;
  violation: {
    code: string;
    rule: string;
    fromStatus: string;
    transition: string;
    previous?: { eventId: string; type: string; version: number; initiatedBy: string; observedBy: string | null; occurredAt: string; recordedAt: string } | null;
  } | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Line {
  sku: string;
  ordered: number;
  picked: number;
  unitPriceMinor: number;
}

export interface ShipmentState {
  status: string;
  version: number;
  orderId: string;
  customerAccountId: string;
  currency: string;
  lines: Line[];
  destination: { name: string; street: string; city: string; postalCode: string; country: string };
  totalMinor: number;
  packageCount?: number;
  carrier?: string;
  trackingNumber?: string;
  receivedBy?: string;
  cancelReason?: string;
}

export interface ShipmentSummary {
  shipmentId: string;
  orderId: string;
  status: string;
  version: number;
  customerAccountId: string;
  totalMinor: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
}

export interface Shipment extends ShipmentSummary {
  lastEvent: { eventId: string; type: string };
  allowedCommands: string[];
  state: ShipmentState;
  /** Past the retention window: its history comes from Kafka. */
  archived: boolean;
}

export interface ShipmentAsOf {
  shipmentId: string;
  asOf: string | null;
  knownAt: string | null;
  status: string;
  version: number;
  state: ShipmentState;
  inEffect: { throughVersion: number; alsoVersions: number[] };
  reordered: boolean;
}

export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface Outcome {
  id: string;
  commandId: string;
  commandType: string;
  shipmentId: string;
  status: 'Accepted' | 'Rejected';
  version: number;
  eventIds: string[];
  rejection: { code: string; reason: string; currentStatus: string; allowedCommands: string[] } | null;
  alert: boolean;
  violation: { code: string; rule: string; fromStatus: string; transition: string; source: string; sourceId: string; observedBy: string } | null;
  initiatedBy: string;
  role: string;
  traceId: string;
  at: string;
  timestamp: number;
  recordedAt: string | null;
}

export interface Alert extends Outcome {
  kind: 'rejected-command' | 'rule-violation';
  acknowledged: boolean;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
}

export interface Transaction {
  transactionId: string;
  accountId: string;
  kind: string;
  amountMinor: number;
  currency: string;
  reason: string | null;
  shipmentId: string | null;
  sourceEventId: string | null;
  eventId: string;
  traceId: string;
  initiatedBy: string;
  at: string;
  timestamp: number;
  cause?: LedgerEvent | null;
}

export interface Account {
  accountId: string;
  balanceMinor: number;
  currency: string;
  version: number;
  firstTransactionAt: string;
  lastTransactionAt: string;
}

export type TraceItem =
  | { kind: 'event'; at: string; event: LedgerEvent }
  | { kind: 'outcome'; at: string; outcome: Outcome }
  | { kind: 'transaction'; at: string; transaction: Transaction };

export interface StateMachine {
  statuses: string[];
  eventTypes: string[];
  transitions: Array<{ from: string; command: string; to: string; guard: string | null }>;
  allowed: Record<string, string[]>;
  terminal: string[];
  correction: { command: string; event: string; roles: string[]; rules: string };
}
