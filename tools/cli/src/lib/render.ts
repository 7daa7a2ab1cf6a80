import Table from 'cli-table3';
import type { OffsetNote, PlannedOffset } from './compute-offsets';
import { describeSpec } from './reset-spec';
import type { ResetPlan } from './group-offsets';

export const DRY_RUN_NOTICE = 'dry run: nothing changed; add --execute to apply';

const NOTES: Record<OffsetNote, string> = {
  'clamped-to-earliest': 'below earliest, clamped',
  'clamped-to-latest': 'past latest, clamped',
  'no-record-that-new': 'no record that new: latest',
};

/** The machine-readable form; `--output json` prints exactly this. */
export function planToJson(plan: ResetPlan, executed: boolean) {
  return {
    group: plan.groupId,
    groupState: plan.groupState,
    spec: plan.spec,
    ...(plan.timestamp === undefined ? {} : { timestamp: new Date(plan.timestamp).toISOString() }),
    executed,
    partitions: plan.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      currentOffset: p.current,
      newOffset: p.newOffset,
      earliestOffset: p.earliest,
      latestOffset: p.latest,
      lagBefore: p.lagBefore,
      lagAfter: p.lagAfter,
      ...(p.note ? { note: p.note } : {}),
    })),
  };
}

function lagChange(p: PlannedOffset): string {
  const before = p.lagBefore === null ? '-' : String(p.lagBefore);
  const delta = p.lagBefore === null ? '' : ` (${p.lagAfter - p.lagBefore >= 0 ? '+' : ''}${p.lagAfter - p.lagBefore})`;
  return `${before} → ${p.lagAfter}${delta}`;
}

/** The human form: one row per partition, then what happened (or did not). */
export function planToTable(plan: ResetPlan, executed: boolean): string {
  const table = new Table({
    head: ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET', 'LOG-START', 'LOG-END', 'LAG (BEFORE → AFTER)', 'NOTE'],
    style: { head: [], border: [] },
    // No rule between rows: a topic with 12 partitions should fit on one screen.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const p of plan.partitions) {
    table.push([p.topic, p.partition, p.current ?? '-', p.newOffset, p.earliest, p.latest, lagChange(p), p.note ? NOTES[p.note] : '']);
  }
  const at = plan.timestamp === undefined ? '' : ` (records at or after ${new Date(plan.timestamp).toISOString()})`;
  const header = `group '${plan.groupId}' (${plan.groupState}), reset ${describeSpec(plan.spec)}${at}`;
  const footer = executed
    ? `applied: the group's offsets were moved on ${plan.partitions.length} partition(s)`
    : DRY_RUN_NOTICE;
  return `${header}\n${table.toString()}\n${footer}\n`;
}
