export { runProcessor, type RunProcessorOptions, type ProcessorRunner } from './lib/runner';
export { type InputRecord, type OutputRecord, type Processor, type ProcessorContext, type StateStoreDefinition, decodedOnce, toInputRecord } from './lib/processor';
export { RedisStateStore, storeKeys, type StoreMeta } from './lib/state-store';
export { ChangelogRestorer, type RestoreState, type RestoreOptions, type RestoreResult } from './lib/changelog-restorer';
export { type BadRecordDecision, type BadRecordHandler, type ErrorClass, decodeErrorPolicy, deadLetterRecord } from './lib/dead-letter';
export {
  TaskCorruptedError,
  TaskMigratedError,
  RestoreFailedError,
  BoundedReplayError,
  IllegalStateTransitionError,
  BadRecordError,
  ProcessingFailedError,
  StreamsConfigError,
  isFencingError,
} from './lib/errors';
export { committedMessages, type CommittedMessages } from './lib/transaction-filter';
export { watchReflectedOffsets, type WatchedPartition, type ReflectedOffsetsWatchOptions } from './lib/reflected-offsets-watch';
export { writeProjection, type RedisWrite, type ProjectionPlan, type OffsetAdvance, type ProjectionWriteOutcome } from './lib/projection-write';
export { ProjectionLoop, projectionConfigShape, type ProjectionSettings, type Projection, type ProjectionChunk, type PlannedChunk, type ProjectionLoopOptions } from './lib/projection-loop';
export { replayPartitions, deleteThrowawayGroup, type ReplayRange, type BoundedReplayOptions, type BoundedReplayResult } from './lib/bounded-replay';
export { DEFAULT_SESSION_TIMEOUT_MS, FETCH_WAIT_MS, groupConsumerConfig, processorConfigShape, processorLoopSettings, sessionTimeoutSetting } from './lib/group-consumer';
export { KafkaWire, type FetchedRecord, type PartitionEnds, type RawRecord } from './lib/kafka-wire';
export { RecordsAtPositions, type RecordPosition, type PositionedRecord } from './lib/records-at-positions';
export { TopicPartitions } from './lib/topic-partitions';
export { ThrottledOffsetCommits, GROUP_COMMIT_INTERVAL_MS, type GroupOffset, type ThrottledOffsetCommitsOptions } from './lib/throttled-offset-commits';
