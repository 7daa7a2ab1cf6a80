import { TOPICS, type CommandOutcome, type Serde, type ShipmentCommandRecord, type ShipmentEventRecord, type TopicMap } from '@waybill/contracts';
import type { Logger } from '@waybill/platform';
import {
  decide,
  decideObservation,
  evolveEnvelope,
  initialState,
  isRejection,
  raisesAlert,
  STATE_SHAPE_VERSION,
  toEnvelopes,
  type RecordObservation,
  type ShipmentEventEnvelope,
  type ShipmentState,
} from '@waybill/shipment-domain';
import { acceptedOutcome, envelopeToRecord, observedOutcome, recordToCommand, recordToEnvelope, rejectedOutcome } from '@waybill/shipment-messages';
import { decodedOnce, type InputRecord, type OutputRecord, type Processor, type StateStoreDefinition } from '@waybill/streams';

/** How many recent command ids each shipment remembers, to answer a re-delivered command without acting twice. */
const REMEMBERED_COMMANDS = 32;

/** The reducer's state per shipment: the domain state plus the commands that produced its latest events. */
export interface ReducerState {
  shipment: ShipmentState;
  recent: Array<{ commandId: string; version: number; eventIds: string[] }>;
}

/** Under {@link observedKey}: this shipment recorded that observation, as these events. */
export interface ObservedIndexEntry {
  observedAtVersion: number;
  eventIds: string[];
}

/** What the store holds under a key: a shipment, or the mark that it recorded an observation. */
export type ReducerStoreValue = ReducerState | ObservedIndexEntry;

/**
 * The store key saying whether `shipmentId` recorded the observation with `commandId` (derived
 * from its source and source id). '#' never occurs in a shipment id, so it never meets a shipment.
 * Kept for all time, unlike the recent command ids: a source may send a fact again days later.
 */
export const observedKey = (shipmentId: string, commandId: string): string => `#observed:${shipmentId}:${commandId}`;

const isShipment = (value: ReducerStoreValue | undefined): value is ReducerState => value !== undefined && 'shipment' in value;

function remember(state: ReducerState, commandId: string, version: number, eventId: string): ReducerState['recent'] {
  const recent = state.recent.filter((r) => r.commandId !== commandId);
  const previous = state.recent.find((r) => r.commandId === commandId);
  recent.push({ commandId, version, eventIds: [...(previous?.eventIds ?? []), eventId] });
  return recent.slice(-REMEMBERED_COMMANDS);
}

/** The store: its changelog is `shipment.events`, folded with the domain's own `evolve`. */
export function shipmentStore(serde: Serde, topics: TopicMap): StateStoreDefinition<ReducerStoreValue> {
  // Restore and the live path ask for the same record twice (its keys, then each fold).
  const envelopeOf = decodedOnce(async (value): Promise<ShipmentEventEnvelope> => {
    const decoded = await serde.decode(value, TOPICS.shipmentEvents);
    return recordToEnvelope({ type: decoded.recordName, value: decoded.value } as ShipmentEventRecord);
  });
  return {
    name: 'shipments',
    changelogTopic: topics.shipmentEvents,
    // The reducer's wrapper shape is part of what is stored: bump with either (2: observed facts indexed).
    shapeVersion: STATE_SHAPE_VERSION * 100 + 2,
    async alsoUpdates(record) {
      const envelope = await envelopeOf(record);
      return envelope.observation ? [observedKey(envelope.aggregateId, envelope.causationId)] : [];
    },
    async apply(state, record, key) {
      const envelope = await envelopeOf(record);
      if (key !== record.key) {
        const seen = state && !isShipment(state) ? state.eventIds : [];
        return { observedAtVersion: envelope.version, eventIds: [...seen, envelope.eventId] };
      }
      const before = isShipment(state) ? state : { shipment: initialState(), recent: [] };
      return {
        shipment: evolveEnvelope(before.shipment, envelope),
        recent: remember(before, envelope.causationId, envelope.version, envelope.eventId),
      };
    },
    // Events carry their own time and version; where the broker put them changes nothing.
    ignoresPosition: true,
    serialize: (state) => JSON.stringify(state),
    deserialize: (text) => JSON.parse(text) as ReducerStoreValue,
  };
}

/**
 * Decides one command: events and an accepted outcome, or a rejected outcome (an alert when the
 * rules were broken). A command this shipment already acted on is answered again, never re-applied.
 */
export function shipmentProcessor(serde: Serde, topics: TopicMap, logger: Logger): Processor<ReducerStoreValue> {
  // keysToRead and process see the same record: decode it once.
  const commandOf = decodedOnce(async (value) => {
    const decoded = await serde.decode(value, TOPICS.shipmentCommands);
    return recordToCommand({ type: decoded.recordName, value: decoded.value } as ShipmentCommandRecord);
  });
  const eventRecords = async (envelopes: readonly ShipmentEventEnvelope[]): Promise<OutputRecord[]> => {
    const outputs: OutputRecord[] = [];
    for (const envelope of envelopes) {
      const eventRecord = envelopeToRecord(envelope);
      outputs.push({
        topic: topics.shipmentEvents,
        key: envelope.aggregateId,
        value: await serde.encode(TOPICS.shipmentEvents, eventRecord.type, eventRecord.value as never),
        headers: { 'x-trace-id': envelope.traceId, 'x-event-type': envelope.type },
      });
    }
    return outputs;
  };

  /** A fact is recorded once per (source, source id), for all time, and never refused. */
  const recordObservation = async (command: RecordObservation, state: ReducerState, seen: ReducerStoreValue | undefined, answer: (outcome: CommandOutcome) => Promise<OutputRecord>) => {
    const { shipmentId, commandId, traceId, initiatedBy } = command.metadata;
    if (seen && !isShipment(seen)) {
      logger.info({ shipmentId, source: command.data.source, sourceId: command.data.sourceId }, 'observation already recorded; answering again without new events');
      return [await answer({ ...acceptedOutcome(command, [], seen.observedAtVersion), eventIds: seen.eventIds })];
    }
    const { events, mark } = decideObservation(command, state.shipment);
    const envelopes = toEnvelopes(command, events, state.shipment, mark);
    if (mark.violation) {
      logger.warn(
        { traceId, shipmentId, commandId, source: mark.source, sourceId: mark.sourceId, observedBy: mark.observedBy, reportedBy: initiatedBy, transition: mark.violation.transition, fromStatus: mark.violation.fromStatus },
        'ALERT: an observed fact broke the rules; recorded, not refused',
      );
    }
    return [...(await eventRecords(envelopes)), await answer(observedOutcome(command, envelopes, state.shipment.version, mark))];
  };

  return {
    async keysToRead(record) {
      const command = await commandOf(record);
      return command.type === 'RecordObservation' ? [observedKey(command.metadata.shipmentId, command.metadata.commandId)] : [];
    },
    async process(record: InputRecord, ctx): Promise<OutputRecord[]> {
      const command = await commandOf(record);
      const shipmentId = command.metadata.shipmentId;
      const stored = await ctx.getState(shipmentId);
      const state: ReducerState = isShipment(stored) ? stored : { shipment: initialState(), recent: [] };
      const outcomeRecord = async (outcome: CommandOutcome): Promise<OutputRecord> => ({
        topic: topics.shipmentOutcomes,
        key: shipmentId,
        value: await serde.encode(TOPICS.shipmentOutcomes, 'CommandOutcome', outcome),
        headers: { 'x-trace-id': command.metadata.traceId },
      });
      if (command.type === 'RecordObservation') {
        return recordObservation(command, state, await ctx.getState(observedKey(shipmentId, command.metadata.commandId)), outcomeRecord);
      }

      const seen = state.recent.find((r) => r.commandId === command.metadata.commandId);
      if (seen) {
        logger.warn({ commandId: seen.commandId, shipmentId }, 'command already applied; answering again without new events');
        return [await outcomeRecord({ ...acceptedOutcome(command, [], seen.version), eventIds: seen.eventIds })];
      }

      const decision = decide(command, state.shipment);
      if (isRejection(decision)) {
        const alert = raisesAlert(decision);
        if (alert) {
          logger.warn(
            { traceId: command.metadata.traceId, shipmentId, initiatedBy: command.metadata.initiatedBy, command: command.type, status: decision.currentStatus },
            'ALERT: forbidden command refused',
          );
        }
        return [await outcomeRecord(rejectedOutcome(command, decision, alert))];
      }

      const envelopes = toEnvelopes(command, decision, state.shipment);
      return [...(await eventRecords(envelopes)), await outcomeRecord(acceptedOutcome(command, envelopes, state.shipment.version))];
    },
  };
}
