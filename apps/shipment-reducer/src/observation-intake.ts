import { TOPICS, UndecodableMessageError, type Observation, type Serde, type TopicMap } from '@waybill/contracts';
import type { Logger } from '@waybill/platform';
import { commandToRecord, observationProblems, observationToCommand } from '@waybill/shipment-messages';
import type { BadRecordHandler, InputRecord, OutputRecord, Processor } from '@waybill/streams';

/** An observation that decodes but can never be recorded: it goes to `shipment.observations.dlq` with this reason. */
export class InvalidObservationError extends Error {
  readonly code = 'INVALID_OBSERVATION';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidObservationError';
  }
}

/** Undecodable and invalid observations are dead-lettered; anything else (Kafka, the registry) is retried by failing. */
export const observationBadRecordPolicy: BadRecordHandler = (_record, error) =>
  error instanceof UndecodableMessageError || error instanceof InvalidObservationError ? 'continue' : 'fail';

/**
 * The intake: each observation on `shipment.observations` becomes the RecordObservation command the
 * reducer decides, on `shipment.commands` under the same key, in one Kafka transaction with the
 * consumed offset. Checked first with the same rules as the HTTP endpoint, so a fact that lacks its
 * source id or names a status that does not exist is dead-lettered with its reason and nothing
 * behind it waits.
 */
export function observationIntake(serde: Serde, topics: TopicMap, logger: Logger): Processor<never> {
  return {
    async process(record: InputRecord): Promise<OutputRecord[]> {
      const decoded = await serde.decode(record.value, TOPICS.shipmentObservations);
      const observation = decoded.value as Observation;
      const problems = observationProblems(observation);
      if (record.key !== observation.shipmentId) problems.push({ field: 'shipmentId', message: `must equal the record key (${record.key})` });
      if (problems.length > 0) {
        const why = problems.map((p) => `${p.field} ${p.message}`).join('; ');
        logger.warn({ source: observation.source, sourceId: observation.sourceId, shipmentId: observation.shipmentId, offset: record.offset, partition: record.partition }, `observation dead-lettered: ${why}`);
        throw new InvalidObservationError(`observation ${observation.source ?? '?'}/${observation.sourceId ?? '?'} for shipment ${observation.shipmentId ?? '?'} cannot be recorded: ${why}`);
      }
      const command = commandToRecord(observationToCommand(observation));
      return [
        {
          topic: topics.shipmentCommands,
          key: observation.shipmentId,
          value: await serde.encode(TOPICS.shipmentCommands, command.type, command.value as never),
          headers: { 'x-trace-id': command.value.traceId, 'x-observation-source': observation.source },
        },
      ];
    },
  };
}
