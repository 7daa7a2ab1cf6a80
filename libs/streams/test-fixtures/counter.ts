// A toy decider for the streams tests, so they do not depend on the shipment domain. Commands
// `{ cmdId, op: 'inc' | 'reject' }` keyed by counter id; each accepted `inc` emits an event
// `{ cmdId, version }` to the changelog and an outcome; `reject` emits only an outcome.
import type { InputRecord, OutputRecord, Processor, StateStoreDefinition } from '../src';

export interface CounterState {
  count: number;
  version: number;
  /** Only with `tracksOffset`: the changelog offset of the last event folded. */
  lastOffset?: string;
}

export interface CounterStoreOptions {
  shapeVersion?: number;
  /** Make the fold read the record's offset, so only a fold with the broker's offsets stores the truth. */
  tracksOffset?: boolean;
  ignoresPosition?: boolean;
  /** Called on every fold, live or on restore. */
  onApply?: () => void;
}

export interface CounterTopics {
  commands: string;
  events: string;
  outcomes: string;
}

/** What the caller's decode throws: the default bad-record policy dead-letters exactly this. */
export class CounterDecodeError extends Error {
  override readonly name = 'CounterDecodeError';
  readonly code = 'COUNTER_DECODE';
}

interface Command {
  cmdId: string;
  op: 'inc' | 'reject';
}

function decode(value: Buffer | null): Command {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value?.toString() ?? '');
  } catch (error) {
    throw new CounterDecodeError(`not JSON: ${(error as Error).message}`);
  }
  const command = parsed as Partial<Command>;
  if (typeof command?.cmdId !== 'string' || (command.op !== 'inc' && command.op !== 'reject')) {
    throw new CounterDecodeError('not a counter command');
  }
  return command as Command;
}

export function counterStore(events: string, options: CounterStoreOptions = {}): StateStoreDefinition<CounterState> {
  return {
    name: 'counter',
    changelogTopic: events,
    shapeVersion: options.shapeVersion ?? 1,
    ignoresPosition: options.ignoresPosition,
    apply: (state, record: InputRecord) => {
      options.onApply?.();
      const event = JSON.parse(record.value?.toString() ?? '{}') as { version: number };
      const next: CounterState = { count: (state?.count ?? 0) + 1, version: event.version };
      return options.tracksOffset ? { ...next, lastOffset: record.offset } : next;
    },
    serialize: (state) => JSON.stringify(state),
    deserialize: (text) => JSON.parse(text) as CounterState,
  };
}

export function counterProcessor(topics: CounterTopics, hooks: { beforeProcess?: (record: InputRecord) => Promise<void> } = {}): Processor<CounterState> {
  return {
    async process(record, ctx): Promise<OutputRecord[]> {
      await hooks.beforeProcess?.(record);
      const command = decode(record.value);
      const state = await ctx.getState(record.key);
      if (command.op === 'reject') {
        return [{ topic: topics.outcomes, key: record.key, value: Buffer.from(JSON.stringify({ cmdId: command.cmdId, key: record.key, status: 'rejected' })) }];
      }
      const version = (state?.version ?? 0) + 1;
      return [
        { topic: topics.events, key: record.key, value: Buffer.from(JSON.stringify({ cmdId: command.cmdId, version })) },
        { topic: topics.outcomes, key: record.key, value: Buffer.from(JSON.stringify({ cmdId: command.cmdId, key: record.key, status: 'accepted', version })) },
      ];
    },
  };
}
