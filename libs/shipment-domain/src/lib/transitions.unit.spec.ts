import { SHIPMENT_COMMAND_TYPES, SHIPMENT_ROLES, type ShipmentCommandType, type ShipmentRole } from './commands';
import { decide } from './decide';
import { isRejection, raisesAlert } from './errors';
import { evolve } from './evolve';
import { HISTORY, as, command, pickedB1, sampleCommand } from './fixtures.spec';
import { SHIPMENT_STATUSES, initialState, type LifecycleStatus, type ShipmentState } from './state';
import {
  TRANSITIONS,
  allowedCommands,
  isTerminalStatus,
  nextStatus,
  renderTransitionTable,
  roleMaySend,
  targetStatus,
  type TableCommandType,
} from './transitions';
import type { ShipmentEvent } from './events';

// The expected outcome of every cell, written out by hand from docs/ARCHITECTURE.md §3 rather than derived
// from TRANSITIONS: a status means the command is accepted and leads there; a code means rejected.
// 'Corrected' means a StatusCorrected to whichever status the supervisor asked for.
const COLUMNS = [
  'CreateShipment',
  'ReleaseForPicking',
  'PickItem',
  'CompletePicking',
  'Pack',
  'MarkReadyForShipping',
  'Ship',
  'ConfirmDelivery',
  'Cancel',
  'CorrectStatus',
] as const;
const NF = 'NOT_FOUND';
const VC = 'VERSION_CONFLICT';
const no = 'INVALID_TRANSITION';
const fix = 'Corrected';
// prettier-ignore
const EXPECTED: Record<LifecycleStatus, readonly string[]> = {
  //                 Create   Release           PickItem   Complete  Pack      MarkReady           Ship       Confirm      Cancel       Correct
  None:             ['Created', NF,             NF,        NF,       NF,       NF,                 NF,        NF,          NF,          NF],
  Created:          [VC,      'PendingPicking', no,        no,       no,       no,                 no,        no,          'Cancelled', fix],
  PendingPicking:   [VC,      no,               'Picking', no,       no,       no,                 no,        no,          'Cancelled', fix],
  Picking:          [VC,      no,               'Picking', 'Picked', no,       no,                 no,        no,          'Cancelled', fix],
  Picked:           [VC,      no,               no,        no,       'Packed', no,                 no,        no,          'Cancelled', fix],
  Packed:           [VC,      no,               no,        no,       no,       'ReadyForShipping', no,        no,          'Cancelled', fix],
  ReadyForShipping: [VC,      no,               no,        no,       no,       no,                 'Shipped', no,          'Cancelled', fix],
  Shipped:          [VC,      no,               no,        no,       no,       no,                 no,        'Delivered', no,          fix],
  Delivered:        [VC,      no,               no,        no,       no,       no,                 no,        no,          no,          fix],
  Cancelled:        [VC,      no,               no,        no,       no,       no,                 no,        no,          no,          fix],
};
const REJECTION_CODES_IN_MATRIX = [NF, VC, no];

function expected(status: LifecycleStatus, type: ShipmentCommandType): string {
  return EXPECTED[status][COLUMNS.indexOf(type)];
}

function stateOf(events: readonly ShipmentEvent[]): ShipmentState {
  return events.reduce(evolve, initialState());
}

const ALL_STATUSES = ['None', ...SHIPMENT_STATUSES] as const;

describe('the transition table', () => {
  it('lists every status and every command type the matrix expects', () => {
    expect([...SHIPMENT_COMMAND_TYPES].sort()).toEqual([...COLUMNS].sort());
    expect(Object.keys(TRANSITIONS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(ALL_STATUSES)('row %s', (status) => {
    it.each(COLUMNS.filter((c): c is TableCommandType => c !== 'CorrectStatus'))('%s', (type) => {
      const cell = expected(status, type);
      expect(nextStatus(status, type)).toBe(REJECTION_CODES_IN_MATRIX.includes(cell) ? undefined : cell);
    });

    it('allowedCommands names exactly the accepted cells', () => {
      const accepted = COLUMNS.filter((type) => !REJECTION_CODES_IN_MATRIX.includes(expected(status, type)));
      expect(allowedCommands(status)).toEqual(accepted);
    });
  });

  it('knows Delivered and Cancelled as the only terminal statuses', () => {
    expect(ALL_STATUSES.filter(isTerminalStatus)).toEqual(['Delivered', 'Cancelled']);
  });

  it('gives each table command one target status', () => {
    expect(targetStatus('ReleaseForPicking')).toBe('PendingPicking');
    expect(targetStatus('Cancel')).toBe('Cancelled');
    expect(targetStatus('CreateShipment')).toBe('Created');
    expect(targetStatus('ConfirmDelivery')).toBe('Delivered');
  });

  it('answers nothing for a status it does not know', () => {
    expect(nextStatus('Lost' as LifecycleStatus, 'Cancel')).toBeUndefined();
    expect(allowedCommands('Lost' as LifecycleStatus)).toEqual([]);
  });
});

// Every status × every command through decide: the table as the reducer enforces it.
describe.each(ALL_STATUSES)('When %s', (status) => {
  it.each([...SHIPMENT_COMMAND_TYPES])('%s', (type) => {
    // CompletePicking needs every line fully picked; the Picking history leaves one SKU-B to pick.
    const history: readonly ShipmentEvent[] = status === 'Picking' && type === 'CompletePicking' ? [...HISTORY.Picking, pickedB1] : HISTORY[status];
    const state = stateOf(history);
    expect(state.status).toBe(status);
    const toStatus = status === 'Packed' ? 'Picked' : 'Packed';
    const cmd =
      type === 'CorrectStatus'
        ? command(type, { toStatus, reason: 'scanned at the wrong station' }, as('supervisor'))
        : sampleCommand(type, as('associate'));

    const outcome = decide(cmd, state);
    const cell = expected(status, type);

    if (REJECTION_CODES_IN_MATRIX.includes(cell)) {
      if (!isRejection(outcome)) throw new Error(`expected ${cell}, got ${JSON.stringify(outcome)}`);
      expect(outcome.code).toBe(cell);
      expect(outcome.currentStatus).toBe(status);
      expect(outcome.currentVersion).toBe(history.length);
      expect(raisesAlert(outcome)).toBe(cell === no);
    } else {
      if (isRejection(outcome)) throw new Error(`expected ${cell}, got ${outcome.code}: ${outcome.reason}`);
      expect(outcome).toHaveLength(1);
      const after = outcome.reduce(evolve, state);
      expect(after.status).toBe(cell === fix ? toStatus : cell);
      expect(after.version).toBe(history.length + 1);
    }
  });
});

// prettier-ignore
const MAY_SEND: Record<ShipmentRole, boolean[]> = {
  //          Create Release Pick  Complete Pack  Ready  Ship   Confirm Cancel Correct
  viewer:     [false, false, false, false,  false, false, false, false, false, false],
  associate:  [true,  true,  true,  true,   true,  true,  true,  true,  true,  false],
  'team-lead':[true,  true,  true,  true,   true,  true,  true,  true,  true,  false],
  supervisor: [true,  true,  true,  true,   true,  true,  true,  true,  true,  true],
  finance:    [false, false, false, false,  false, false, false, false, false, false],
  integration:[false, false, false, false,  false, false, false, false, false, false],
};

// A status in which each command is allowed, so only the role decides.
const WHERE_ALLOWED: Record<ShipmentCommandType, readonly ShipmentEvent[]> = {
  CreateShipment: HISTORY.None,
  ReleaseForPicking: HISTORY.Created,
  PickItem: HISTORY.PendingPicking,
  CompletePicking: [...HISTORY.Picking, pickedB1],
  Pack: HISTORY.Picked,
  MarkReadyForShipping: HISTORY.Packed,
  Ship: HISTORY.ReadyForShipping,
  ConfirmDelivery: HISTORY.Shipped,
  Cancel: HISTORY.Created,
  CorrectStatus: HISTORY.Delivered,
};

describe.each([...SHIPMENT_ROLES])('As %s', (role) => {
  it.each([...SHIPMENT_COMMAND_TYPES])('%s', (type) => {
    const may = MAY_SEND[role][COLUMNS.indexOf(type)];
    expect(roleMaySend(role, type)).toBe(may);
    const outcome = decide(sampleCommand(type, as(role)), stateOf(WHERE_ALLOWED[type]));
    if (may) expect(isRejection(outcome)).toBe(false);
    else expect(isRejection(outcome) && outcome.code).toBe('FORBIDDEN');
  });
});

describe('renderTransitionTable', () => {
  const table = renderTransitionTable();
  const rows = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| --- '));

  it('draws one row per status plus the header and the correction row', () => {
    expect(rows).toHaveLength(1 + ALL_STATUSES.length + 1);
    expect(table).toContain('| --- | --- |');
  });

  it('writes each allowed cell as "command → next status" in the row of its status', () => {
    for (const status of ALL_STATUSES) {
      const row = rows.find((line) => line.startsWith(`| ${status} `));
      expect(row).toBeDefined();
      for (const type of COLUMNS.filter((t) => t !== 'CorrectStatus')) {
        const cell = expected(status, type);
        if (REJECTION_CODES_IN_MATRIX.includes(cell)) expect(row).not.toContain(`${type} →`);
        else expect(row).toContain(`${type} → ${cell}`);
      }
    }
  });

  it('marks the terminal rows and the guards', () => {
    expect(rows.find((line) => line.startsWith('| Delivered '))).toContain('none (terminal)');
    expect(rows.find((line) => line.startsWith('| Picking '))).toContain('CompletePicking → Picked (only when every line is fully picked)');
    expect(rows.at(-1)).toMatch(/CorrectStatus\(toStatus, reason\) → toStatus: compensating event StatusCorrected; supervisors only/);
    expect(table).toMatch(/No shipment command at all: viewer, finance, integration\./);
  });
});
