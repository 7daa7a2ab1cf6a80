import type { Observation } from '@waybill/contracts';
import {
  decideObservation,
  evolveEnvelope,
  initialState,
  isLateObservation,
  toEnvelopes,
  type FieldError,
  type RuleViolation,
  type ShipmentState,
} from '@waybill/shipment-domain';
import { observationToCommand } from '@waybill/shipment-messages';
import type { ImportRow } from './rows';

/**
 * What the importer concludes about a row:
 * - `record`: new; producing it records it (flagged when it breaks a rule);
 * - `already-recorded`: the ledger shows an event caused by this (source, sourceId) on this shipment;
 * - `repeated`: an earlier row of the file has the same shipment, source and sourceId;
 * - `bad`: the row cannot be recorded (its problems say why).
 */
export type RowVerdict = 'record' | 'already-recorded' | 'repeated' | 'bad';

export interface PlannedRow {
  line: number;
  verdict: RowVerdict;
  shipmentId?: string;
  kind?: string;
  occurredAt?: number;
  /** The person in the source (`observedBy`); never the importer. */
  observedBy?: string;
  source?: string;
  sourceId?: string;
  /** The shipment's running status before and after this row (folded in file order). */
  fromStatus?: string;
  toStatus?: string;
  /** The business time is before the latest one the shipment has (`arrivesLate`): placed in the timeline, the status stays. */
  late?: boolean;
  /** The rule the state machine says this fact breaks (recorded anyway, and alerted). */
  violation?: RuleViolation;
  problems: FieldError[];
  /** The wire record to produce (verdict `record`, and `already-recorded` for --resend). */
  observation?: Observation;
  /** `repeated`: the line of the first row with the same fact. */
  firstLine?: number;
}

/** What Waybill already holds of one shipment, as the ledger answers. */
export interface KnownShipment {
  /** The ledger's folded state (`initialState()` for a shipment it does not know). */
  state: ShipmentState;
  /** The causationIds of its events: an observation's command id is `observationCommandId(source, sourceId)`. */
  causes: ReadonlySet<string>;
}

export interface PlanSummary {
  rows: number;
  toRecord: number;
  alreadyRecorded: number;
  repeated: number;
  bad: number;
  /** Among the rows to record: how many the state machine flags. */
  violations: number;
  shipments: number;
}

export interface ImportPlan {
  rows: PlannedRow[];
  summary: PlanSummary;
}

export const UNKNOWN_SHIPMENT: KnownShipment = { state: initialState(), causes: new Set() };

/**
 * Folds the file's rows, in order, onto what Waybill holds of each shipment with the domain's own
 * `decideObservation` and `evolveEnvelope`: exactly what the reducer will decide when the rows
 * arrive in this order on a state the ledger shows. Pure.
 */
export function planImport(rows: readonly ImportRow[], known: ReadonlyMap<string, KnownShipment>): ImportPlan {
  const states = new Map<string, ShipmentState>();
  const seen = new Map<string, number>();
  const planned: PlannedRow[] = [];
  const summary: PlanSummary = { rows: rows.length, toRecord: 0, alreadyRecorded: 0, repeated: 0, bad: 0, violations: 0, shipments: 0 };
  for (const row of rows) {
    const o = row.observation;
    const base: PlannedRow = {
      line: row.line,
      verdict: 'bad',
      shipmentId: o.shipmentId,
      kind: o.kind,
      occurredAt: o.occurredAt,
      observedBy: o.observedBy,
      source: o.source,
      sourceId: o.sourceId,
      problems: row.problems,
    };
    if (row.problems.length > 0) {
      summary.bad += 1;
      planned.push(base);
      continue;
    }
    const observation = o as Observation;
    const command = observationToCommand(observation);
    const shipmentId = observation.shipmentId;
    const key = `${shipmentId}\u0000${command.metadata.commandId}`;
    const firstLine = seen.get(key);
    if (firstLine !== undefined) {
      summary.repeated += 1;
      planned.push({ ...base, verdict: 'repeated', firstLine });
      continue;
    }
    seen.set(key, row.line);
    const shipment = known.get(shipmentId) ?? UNKNOWN_SHIPMENT;
    if (shipment.causes.has(command.metadata.commandId)) {
      summary.alreadyRecorded += 1;
      planned.push({ ...base, verdict: 'already-recorded', observation });
      continue;
    }
    if (!states.has(shipmentId)) summary.shipments += 1;
    const before = states.get(shipmentId) ?? shipment.state;
    const { events, mark } = decideObservation(command, before);
    const envelopes = toEnvelopes(command, events, before, mark);
    const late = envelopes.some((e) => isLateObservation(before, e));
    const after = envelopes.reduce(evolveEnvelope, before);
    states.set(shipmentId, after);
    summary.toRecord += 1;
    if (mark.violation) summary.violations += 1;
    planned.push({
      ...base,
      verdict: 'record',
      fromStatus: before.status,
      toStatus: after.status,
      ...(late ? { late } : {}),
      ...(mark.violation ? { violation: mark.violation } : {}),
      observation,
    });
  }
  return { rows: planned, summary };
}

/** The shipments whose state the plan needs: those of rows that can be recorded, in first-seen order. */
export function shipmentsOf(rows: readonly ImportRow[]): string[] {
  const ids = new Set<string>();
  for (const row of rows) if (row.problems.length === 0 && row.observation.shipmentId) ids.add(row.observation.shipmentId);
  return [...ids];
}
