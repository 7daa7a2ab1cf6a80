import { Decider, replay } from './decider';

export class DeciderSpecFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

function fail(message: string, actual: unknown): never {
  throw new DeciderSpecFailure(`${message}\nactual: ${JSON.stringify(actual, null, 2)}`);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * given(events).when(command).then(events) — the house style for decider tests. It needs no test
 * framework: a failed expectation throws, so it works under jest, fast-check or plain node.
 */
export function deciderSpec<S, C, E, R>(decider: Decider<S, C, E, R>, isRejection: (outcome: readonly E[] | R) => outcome is R) {
  return (givenEvents: readonly E[]) => ({
    when(command: C) {
      const state = replay(decider, givenEvents);
      const outcome = decider.decide(command, state);
      return {
        outcome,
        state,
        then(expected: readonly E[]): readonly E[] {
          if (isRejection(outcome)) return fail('expected events, got a rejection', outcome);
          if (!deepEqual(outcome, expected)) fail(`expected ${JSON.stringify(expected, null, 2)}`, outcome);
          return outcome as readonly E[];
        },
        thenRejects(predicate: (rejection: R) => boolean = () => true): R {
          if (!isRejection(outcome)) return fail('expected a rejection, got events', outcome);
          if (!predicate(outcome)) fail('the rejection did not match', outcome);
          return outcome;
        },
        thenNothingHappened(): void {
          if (isRejection(outcome) || (outcome as readonly E[]).length !== 0) fail('expected no events', outcome);
        },
      };
    },
  });
}
