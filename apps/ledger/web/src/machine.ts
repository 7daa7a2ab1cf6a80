import { get } from './api';
import type { StateMachine } from './types';

let cached: Promise<StateMachine> | undefined;

/** The state machine table, fetched once per page load. */
export function stateMachine(): Promise<StateMachine> {
  cached ??= get<StateMachine>('/admin/state-machine.json').catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
