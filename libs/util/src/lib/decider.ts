/** A decider in Emmett's shape: pure `decide`, total `evolve`, and an argument-free initial state. */
export interface Decider<State, Command, Event, Rejection> {
  decide(command: Command, state: State): readonly Event[] | Rejection;
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** Used as the `default` of an exhaustive switch: the compiler rejects any unhandled member. */
export function assertNever(value: never): never {
  throw new TypeError(`unhandled variant: ${JSON.stringify(value)}`);
}

/** Folds events over a decider's initial state. */
export function replay<State, Event>(
  decider: Pick<Decider<State, unknown, Event, unknown>, 'evolve' | 'initialState'>,
  events: readonly Event[],
  from: State = decider.initialState(),
): State {
  return events.reduce((state, event) => decider.evolve(state, event), from);
}
