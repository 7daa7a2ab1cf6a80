import { statusKey } from './badges';
import type { LedgerEvent, StateMachine } from '../types';

/** The status each event type leads to (StatusCorrected: its `toStatus`). */
const EVENT_STATUS: Record<string, string> = {
  ShipmentCreated: 'Created',
  ReleasedForPicking: 'PendingPicking',
  ItemPicked: 'Picking',
  PickingCompleted: 'Picked',
  ShipmentPacked: 'Packed',
  ReadyForShipping: 'ReadyForShipping',
  ShipmentShipped: 'Shipped',
  ShipmentDelivered: 'Delivered',
  ShipmentCancelled: 'Cancelled',
};

export function statusAfter(e: LedgerEvent): string | undefined {
  if (e.type === 'StatusCorrected') return typeof e.data?.toStatus === 'string' ? e.data.toStatus : undefined;
  return EVENT_STATUS[e.type];
}

/** The statuses a shipment went through and the edges it took, in order. */
export function pathOf(events: LedgerEvent[]): { visited: string[]; edges: Array<{ from: string; to: string; corrected: boolean }> } {
  const visited: string[] = [];
  const edges: Array<{ from: string; to: string; corrected: boolean }> = [];
  let at: string | undefined;
  for (const e of events) {
    const to = statusAfter(e);
    if (!to) continue;
    if (at !== undefined) edges.push({ from: at, to, corrected: e.type === 'StatusCorrected' });
    if (!visited.includes(to)) visited.push(to);
    at = to;
  }
  return { visited, edges };
}

const SHORT: Record<string, string> = {
  ReleaseForPicking: 'release',
  PickItem: 'pick',
  CompletePicking: 'complete',
  Pack: 'pack',
  MarkReadyForShipping: 'ready',
  Ship: 'ship',
  ConfirmDelivery: 'deliver',
  Cancel: 'cancel',
};

const BOX_W = 124;
const BOX_H = 46;
const STEP = 176;
const ROW_Y = 90;
const CANCEL_Y = 250;

/**
 * The state machine as boxes and arrows, drawn from the table the ledger serves
 * (`/admin/state-machine.json`), with this shipment's path highlighted: visited statuses, the
 * transitions it took, corrections as dashed arcs, and the status it is in now.
 */
export function StateMachineDiagram({ machine, events, current }: { machine: StateMachine; events: LedgerEvent[]; current: string }) {
  const main = machine.statuses.filter((s) => s !== 'Cancelled');
  const pos: Record<string, { x: number; y: number }> = {};
  main.forEach((s, i) => (pos[s] = { x: 24 + i * STEP, y: ROW_Y }));
  const mid = (main.length - 1) / 2;
  pos.Cancelled = { x: 24 + mid * STEP, y: CANCEL_Y };
  const width = 24 * 2 + (main.length - 1) * STEP + BOX_W;
  const height = CANCEL_Y + BOX_H + 58;
  const { visited, edges } = pathOf(events);
  const taken = new Set(edges.filter((e) => !e.corrected).map((e) => `${e.from}>${e.to}`));
  const corrections = edges.filter((e) => e.corrected);
  const cx = (s: string) => pos[s].x + BOX_W / 2;

  const table = machine.transitions.filter((t) => t.from !== 'None' && pos[t.from] && pos[t.to]);
  const arrows = table.map((t) => {
    const a = pos[t.from];
    const b = pos[t.to];
    const id = `${t.from}>${t.to}`;
    const cls = `edge ${taken.has(id) ? 'taken' : ''}`;
    const title = `${t.from} —${t.command}→ ${t.to}${t.guard ? ` (${t.guard})` : ''}`;
    if (t.from === t.to) {
      // self-loop above the box
      const x = a.x + BOX_W / 2;
      return (
        <g key={id + t.command} class={cls}>
          <title>{title}</title>
          <path d={`M ${x - 18} ${a.y} C ${x - 30} ${a.y - 48}, ${x + 30} ${a.y - 48}, ${x + 18} ${a.y}`} marker-end="url(#arrow)" />
          <text class="edge-label" x={x} y={a.y - 40} text-anchor="middle">
            {SHORT[t.command] ?? t.command} (again)
          </text>
        </g>
      );
    }
    if (t.to === 'Cancelled') {
      const x1 = cx(t.from);
      const y1 = a.y + BOX_H;
      const x2 = cx('Cancelled') + (x1 - cx('Cancelled')) * 0.12;
      const y2 = b.y;
      return (
        <g key={id} class={cls}>
          <title>{title}</title>
          <path d={`M ${x1} ${y1} C ${x1} ${y1 + 60}, ${x2} ${y2 - 70}, ${x2} ${y2}`} marker-end="url(#arrow)" />
        </g>
      );
    }
    const y = a.y + BOX_H / 2;
    const x1 = a.x + BOX_W;
    const x2 = b.x;
    return (
      <g key={id} class={cls}>
        <title>{title}</title>
        <line x1={x1} y1={y} x2={x2 - 2} y2={y} marker-end="url(#arrow)" />
        <text class="edge-label" x={(x1 + x2) / 2} y={y - 8} text-anchor="middle">
          {SHORT[t.command] ?? t.command}
        </text>
      </g>
    );
  });

  const correctionArcs = corrections.map((c, i) => {
    if (!pos[c.from] || !pos[c.to]) return null;
    const x1 = cx(c.from);
    const x2 = cx(c.to);
    const toCancelled = c.to === 'Cancelled' || c.from === 'Cancelled';
    const y1 = c.from === 'Cancelled' ? pos.Cancelled.y : pos[c.from].y;
    const y2 = c.to === 'Cancelled' ? pos.Cancelled.y + BOX_H : pos[c.to].y;
    const lift = 40 + i * 10;
    const d = toCancelled
      ? `M ${x1} ${y1} Q ${(x1 + x2) / 2 + 90} ${(y1 + y2) / 2} ${x2} ${y2}`
      : `M ${x1} ${y1} C ${x1} ${y1 - lift}, ${x2} ${y2 - lift}, ${x2} ${y2}`;
    return (
      <g key={`c${i}`} class="edge correction">
        <title>{`StatusCorrected: ${c.from} → ${c.to}`}</title>
        <path d={d} marker-end="url(#arrow-correction)" />
        <text class="edge-label correction-label" x={(x1 + x2) / 2} y={Math.min(y1, y2) - lift * 0.75 - 2} text-anchor="middle">
          corrected
        </text>
      </g>
    );
  });

  return (
    <div class="svg-scroll">
      <svg
        class="machine"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`State machine. This shipment went through ${visited.join(', ') || 'nothing yet'}; it is ${current} now.`}
        data-testid="state-machine"
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
            <path d="M0 0 L10 5 L0 10 z" class="arrow-head" />
          </marker>
          <marker id="arrow-correction" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
            <path d="M0 0 L10 5 L0 10 z" class="arrow-head correction" />
          </marker>
        </defs>
        <g class="start">
          <circle cx="10" cy={ROW_Y + BOX_H / 2} r="5" />
        </g>
        {arrows}
        {correctionArcs}
        {[...main, 'Cancelled'].map((s) => {
          const p = pos[s];
          const isCurrent = s === current;
          const wasVisited = visited.includes(s);
          const terminal = machine.terminal.includes(s);
          return (
            <g key={s} class={`node s-${statusKey(s)} ${wasVisited ? 'visited' : ''} ${isCurrent ? 'current' : ''}`} data-status={s}>
              <title>{`${s}${isCurrent ? ' (now)' : wasVisited ? ' (visited)' : ''}; allowed: ${(machine.allowed[s] ?? []).join(', ') || 'none'}`}</title>
              <rect x={p.x} y={p.y} width={BOX_W} height={BOX_H} rx={terminal ? 23 : 8} />
              <text x={p.x + BOX_W / 2} y={p.y + BOX_H / 2 + (isCurrent ? -1 : 4)} text-anchor="middle" class="node-label">
                {s === 'ReadyForShipping' ? 'ReadyToShip' : s}
              </text>
              {isCurrent ? (
                <text x={p.x + BOX_W / 2} y={p.y + BOX_H / 2 + 14} text-anchor="middle" class="node-now">
                  ● now
                </text>
              ) : null}
            </g>
          );
        })}
        <text class="edge-label" x={cx('Cancelled') + BOX_W / 2 + 12} y={CANCEL_Y + 8}>
          cancel (before shipping)
        </text>
        <g class="machine-legend" transform={`translate(24 ${height - 22})`}>
          <rect class="lg-visited" x="0" y="-11" width="16" height="14" rx="3" />
          <text x="22" y="0">visited</text>
          <rect class="lg-current" x="92" y="-11" width="16" height="14" rx="3" />
          <text x="114" y="0">current</text>
          <line class="lg-taken" x1="190" y1="-4" x2="222" y2="-4" />
          <text x="228" y="0">path taken</text>
          <line class="lg-correction" x1="320" y1="-4" x2="352" y2="-4" />
          <text x="358" y="0">supervisor correction</text>
          <line class="lg-edge" x1="510" y1="-4" x2="542" y2="-4" />
          <text x="548" y="0">allowed transition</text>
        </g>
      </svg>
    </div>
  );
}
