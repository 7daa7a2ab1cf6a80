import Table from 'cli-table3';
import type { ImportPlan, PlannedRow, PlanSummary } from './plan';

const n = (x: number) => x.toLocaleString('en-US');
const iso = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString());

const RESULT: Record<PlannedRow['verdict'], string> = {
  record: 'record',
  'already-recorded': 'already recorded',
  repeated: 'repeated',
  bad: 'BAD ROW',
};

/** What the NOTE column says: the violation, the problems, the first line of a repeat. */
export function rowNote(row: PlannedRow): string {
  if (row.verdict === 'bad') return row.problems.map((p) => `${p.field}: ${p.message}`).join('\n');
  if (row.verdict === 'repeated') return `same fact as line ${row.firstLine}; recorded once`;
  if (row.verdict === 'already-recorded') return 'the ledger shows it recorded';
  const late = row.late ? 'late: placed in the timeline at its business time; the status stays\n' : '';
  return row.violation ? `${late}VIOLATION ${row.violation.transition}: ${row.violation.rule}` : late.trimEnd();
}

/** Which rows the table shows: every bad row and violation, and the others up to `limit`. */
export function rowsToShow(rows: readonly PlannedRow[], limit: number): { shown: PlannedRow[]; hidden: number } {
  const shown: PlannedRow[] = [];
  let ordinary = 0;
  let hidden = 0;
  for (const row of rows) {
    if (row.verdict === 'bad' || row.violation) shown.push(row);
    else if (ordinary < limit) {
      ordinary += 1;
      shown.push(row);
    } else hidden += 1;
  }
  return { shown, hidden };
}

/** The rows as a table: line, shipment, kind, business time, who in the source, status, result, note. */
export function planTable(rows: readonly PlannedRow[]): string {
  const table = new Table({
    head: ['LINE', 'SHIPMENT', 'KIND', 'BUSINESS TIME (occurredAt)', 'OBSERVED BY (in the source)', 'SOURCE / SOURCE ID', 'STATUS', 'RESULT', 'NOTE'],
    style: { head: [], border: [] },
    colWidths: [null, null, null, null, null, null, null, null, 72],
    wordWrap: true,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) {
    const status = row.fromStatus === undefined ? '' : `${row.fromStatus} → ${row.toStatus}`;
    const source = row.source === undefined && row.sourceId === undefined ? '' : `${row.source ?? '?'} / ${row.sourceId ?? '?'}`;
    table.push([row.line, row.shipmentId ?? '', row.kind ?? '', iso(row.occurredAt), row.observedBy ?? '', source, status, RESULT[row.verdict], rowNote(row)]);
  }
  return table.toString();
}

/** One line per count. */
export function summaryLines(s: PlanSummary): string[] {
  return [
    `rows read: ${n(s.rows)}`,
    `to record: ${n(s.toRecord)} on ${n(s.shipments)} shipment(s), of which ${n(s.violations)} break a rule of the state machine (recorded anyway, flagged and alerted)`,
    `already recorded: ${n(s.alreadyRecorded)}; repeated in the file: ${n(s.repeated)}; bad rows: ${n(s.bad)}`,
  ];
}

/** The machine-readable plan (`--output json`). */
export function planToJson(plan: ImportPlan, extra: Record<string, unknown>, rows: readonly PlannedRow[] = plan.rows) {
  return {
    ...extra,
    summary: plan.summary,
    rows: rows.map(({ observation: _observation, ...row }) => ({ ...row, occurredAt: row.occurredAt === undefined ? undefined : iso(row.occurredAt) })),
  };
}
