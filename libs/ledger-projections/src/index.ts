export { ProjectionConflictError, CorruptReadModelError, InvalidQueryError, ArchivedHistoryUnavailableError } from './lib/errors';
export { ledgerKeyPrefix, ledgerKeys, ledgerKeyspacePrefix, legacyLedgerLayout, shipmentOfKey, timeKey, versionKey, type LedgerKeys } from './lib/keys';
export {
  LEDGER_TOPICS,
  toLedgerInput,
  type LedgerTopic,
  type LedgerInput,
  type Position,
  type EventDoc,
  type OutcomeDoc,
  type TransactionDoc,
  type ShipmentSummary,
  type ShipmentArchive,
  type StateSnapshot,
  type AccountSummary,
  type TraceItemKind,
} from './lib/documents';
export { MemoryKeyspace, sortZset, type Write, type KeyValue } from './lib/writes';
export {
  DEFAULT_SNAPSHOT_EVERY,
  docToEnvelope,
  eventDocToInput,
  keysToRead,
  offsetField,
  planBatch,
  applyToMemory,
  projectOutcome,
  projectRecord,
  projectShipmentEvent,
  projectTransaction,
  type BatchPlan,
  type OffsetMark,
  type ProjectionOptions,
  type ProjectionResult,
} from './lib/project';
export { versionAt, timelineOf, foldTo, foldOrdered, usableSnapshot, diffStates, placeEvents, inEffect, businessOrderAfter, byBusinessTime, type FieldChange, type Placed } from './lib/as-of';
export { applyBatch, planAgainstRedis, type BatchResult } from './lib/apply-batch';
export { listKeys, listLedgerKeys, readLedgerOffsets, readKeyValue, dumpKeyspace, dumpLedgerKeyspace } from './lib/keyspace';
export { RebuildWriter, type RebuildWriterOptions } from './lib/rebuild-writer';
export { groupOffsets, parseWaitFor, isReflected, type ReflectedOffsets, type WaitPosition } from './lib/offsets';
export { parseReadTokenParam } from './lib/read-token';
export type { ReadToken } from '@waybill/shipment-messages';
export { LedgerReader, type AxisCut, type Page, type StateAt, type ShipmentDiff, type TraceItem } from './lib/reader';
export { MemoryReads, type ReadModelStore } from './lib/memory-reads';
export {
  archiveCandidates,
  DAY_MS,
  DEFAULT_RETENTION_DAYS,
  archiveClosedBefore,
  archiveInMemory,
  archiveShipment,
  parsePosition,
  planArchive,
  positionText,
  readArchiveInputs,
  type ArchiveInputs,
  type ArchiveOutcome,
  type PartitionArchiveResult,
  type ArchivedEventSource,
} from './lib/retention';
export { archivedTransactionMember, parseArchivedTransactionMember, planTransactionArchive, archiveTransactionsBefore, archiveTransactionsInMemory } from './lib/transaction-retention';
