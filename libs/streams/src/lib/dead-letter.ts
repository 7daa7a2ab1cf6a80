import { deadLetterTopic } from '@waybill/contracts';
import { errorCode, errorMessage } from './errors';
import type { InputRecord, OutputRecord } from './processor';

/** 'continue' = the record goes to `<topic>.dlq` and the stream goes on; 'fail' = the runner stops. */
export type BadRecordDecision = 'continue' | 'fail';

/** The policy for a record the processor threw on (Kafka Streams' DeserializationExceptionHandler). */
export type BadRecordHandler = (record: InputRecord, error: unknown) => BadRecordDecision;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * The default policy: errors of `decodeErrorClass` (the caller's "these bytes are not a valid
 * message" error) are dead-lettered; anything else fails, since skipping a record that could be
 * processed later would lose it.
 */
export function decodeErrorPolicy(decodeErrorClass?: ErrorClass): BadRecordHandler {
  return (_record, error) => (decodeErrorClass && error instanceof decodeErrorClass ? 'continue' : 'fail');
}

/**
 * The dead-letter record for `record`: same key and value bytes, plus where it came from, why,
 * and which consumer group gave up on it (several groups read one topic, each may dead-letter).
 */
export function deadLetterRecord(record: InputRecord, error: unknown, consumerGroup: string): OutputRecord {
  return {
    topic: deadLetterTopic(record.topic),
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      'x-error': errorMessage(error).slice(0, 2000),
      'x-error-code': errorCode(error),
      'x-original-topic': record.topic,
      'x-original-partition': String(record.partition),
      'x-original-offset': record.offset,
      'x-consumer-group': consumerGroup,
    },
  };
}
