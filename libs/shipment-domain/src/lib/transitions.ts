import { SHIPMENT_COMMAND_TYPES, SHIPMENT_ROLES, type ShipmentCommandType, type ShipmentRole } from './commands';
import { SHIPMENT_STATUSES, type LifecycleStatus, type ShipmentStatus } from './state';

/** The commands whose next status is fixed by the table (all but `CorrectStatus`). */
export type TableCommandType = Exclude<ShipmentCommandType, 'CorrectStatus'>;

/**
 * The shipment state machine (docs/ARCHITECTURE.md §3): status → command → next status. A command missing
 * from a row is not allowed in that status. `CorrectStatus` is not in the rows: it applies to every
 * existing status and its target is chosen by the supervisor (see `CORRECTION`).
 */
export const TRANSITIONS = {
  None: { CreateShipment: 'Created' },
  Created: { ReleaseForPicking: 'PendingPicking', Cancel: 'Cancelled' },
  PendingPicking: { PickItem: 'Picking', Cancel: 'Cancelled' },
  Picking: { PickItem: 'Picking', CompletePicking: 'Picked', Cancel: 'Cancelled' },
  Picked: { Pack: 'Packed', Cancel: 'Cancelled' },
  Packed: { MarkReadyForShipping: 'ReadyForShipping', Cancel: 'Cancelled' },
  ReadyForShipping: { Ship: 'Shipped', Cancel: 'Cancelled' },
  Shipped: { ConfirmDelivery: 'Delivered' },
  Delivered: {},
  Cancelled: {},
} as const satisfies Record<LifecycleStatus, Partial<Record<TableCommandType, ShipmentStatus>>>;

/**
 * Conditions on a table cell, checked by `decide` after the table allows the command. Breaking one
 * is an `INVALID_TRANSITION`, exactly like a missing cell.
 */
export const TRANSITION_GUARDS = {
  PickItem: 'never more than ordered per sku',
  CompletePicking: 'only when every line is fully picked',
} as const satisfies Partial<Record<TableCommandType, string>>;

/** The compensating command, allowed from every existing status to any other status. */
export const CORRECTION = {
  command: 'CorrectStatus',
  event: 'StatusCorrected',
  from: SHIPMENT_STATUSES,
  roles: ['supervisor'],
  rules: 'supervisors only; reason required; toStatus must differ from the current status',
} as const satisfies {
  command: ShipmentCommandType;
  event: string;
  from: readonly ShipmentStatus[];
  roles: readonly ShipmentRole[];
  rules: string;
};

const OPERATORS = ['associate', 'team-lead', 'supervisor'] as const;

/** Who may send which command. Viewers and finance may send none. */
export const COMMAND_ROLES = {
  CreateShipment: OPERATORS,
  ReleaseForPicking: OPERATORS,
  PickItem: OPERATORS,
  CompletePicking: OPERATORS,
  Pack: OPERATORS,
  MarkReadyForShipping: OPERATORS,
  Ship: OPERATORS,
  ConfirmDelivery: OPERATORS,
  Cancel: OPERATORS,
  CorrectStatus: CORRECTION.roles,
} as const satisfies Record<ShipmentCommandType, readonly ShipmentRole[]>;

type Row = Partial<Record<TableCommandType, ShipmentStatus>>;

function row(status: LifecycleStatus): Row {
  return TRANSITIONS[status] as Row;
}

/** The status a table command leads to from `status`, or undefined when the table forbids it. */
export function nextStatus(status: LifecycleStatus, command: TableCommandType): ShipmentStatus | undefined {
  return Object.prototype.hasOwnProperty.call(TRANSITIONS, status) ? row(status)[command] : undefined;
}

/** The status a table command leads to wherever it is allowed (each leads to exactly one). */
export function targetStatus(command: TableCommandType): ShipmentStatus {
  for (const status of Object.keys(TRANSITIONS) as LifecycleStatus[]) {
    const to = row(status)[command];
    if (to) return to;
  }
  // Unreachable while every command has a cell somewhere; a unit test holds that.
  return 'Created';
}

/** The commands the table allows from `status`, `CorrectStatus` included for existing shipments. */
export function allowedCommands(status: LifecycleStatus): ShipmentCommandType[] {
  if (!Object.prototype.hasOwnProperty.call(TRANSITIONS, status)) return [];
  const cells = row(status);
  const fromTable = SHIPMENT_COMMAND_TYPES.filter((type) => type !== 'CorrectStatus' && cells[type] !== undefined);
  return status === 'None' ? fromTable : [...fromTable, CORRECTION.command];
}

/** A status the table leaves only through `CorrectStatus` (Delivered, Cancelled). */
export function isTerminalStatus(status: LifecycleStatus): boolean {
  return status !== 'None' && allowedCommands(status).every((type) => type === CORRECTION.command);
}

/** May `role` send `command` at all? (Status is not considered.) */
export function roleMaySend(role: string, command: ShipmentCommandType): boolean {
  return (COMMAND_ROLES[command] as readonly string[]).includes(role);
}

/** The state machine as a markdown table, generated from `TRANSITIONS`, for docs and the UI. */
export function renderTransitionTable(): string {
  const lines = ['| status | allowed commands → next status |', '| --- | --- |'];
  for (const status of ['None', ...SHIPMENT_STATUSES] as const) {
    const cells = Object.entries(row(status)).map(([command, to]) => {
      const guard = (TRANSITION_GUARDS as Partial<Record<string, string>>)[command];
      return guard ? `${command} → ${to} (${guard})` : `${command} → ${to}`;
    });
    const label = status === 'None' ? 'None (does not exist yet)' : status;
    lines.push(`| ${label} | ${cells.length > 0 ? cells.join(' · ') : 'none (terminal)'} |`);
  }
  lines.push(
    `| any existing | ${CORRECTION.command}(toStatus, reason) → toStatus: compensating event ${CORRECTION.event}; ` +
      `${CORRECTION.rules} |`,
  );
  const byRoles = new Map<string, string[]>();
  for (const type of SHIPMENT_COMMAND_TYPES) {
    const who = COMMAND_ROLES[type].join(', ');
    byRoles.set(who, [...(byRoles.get(who) ?? []), type]);
  }
  const roles = [...byRoles].map(([who, types]) => `${types.join(', ')}: ${who}`);
  const silent = SHIPMENT_ROLES.filter((role) => !SHIPMENT_COMMAND_TYPES.some((type) => roleMaySend(role, type)));
  return `${lines.join('\n')}\n\nWho may send what: ${roles.join(' · ')}. No shipment command at all: ${silent.join(', ')}.\n`;
}
