import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type KafkaConfig } from 'kafkajs';
import type { Logger } from 'pino';
import { createTopicsAndAwaitLeaders, RenewingProducer } from '@waybill/platform';
import { StoreError, StoreTimeoutError } from './errors';
import { decodeRecord, encodeConfigValue, encodeKey, encodeSchemaValue, type RegistryKey, type RegistryRecord } from './records';
import { RegistryState, type ApplyOutcome } from './state';

/** How long one step of stopping may wait for Kafka. */
const STOP_STEP_MS = 2_000;

export interface KafkaStoreOptions {
  brokers: string[];
  /** kafkajs `ssl`/`sasl` (platform's `kafkaSecurity`): how a secured cluster is reached. */
  security?: Pick<KafkaConfig, 'ssl' | 'sasl'>;
  topic: string;
  replicationFactor: number;
  logger: Logger;
  writeTimeoutMs?: number;
}

// A record to write; `value: null` writes a tombstone.
export type WriteRecord = RegistryRecord;

const WRITER_HEADER = 'waybill-registry-writer';
// Outcomes of our own records that no request collected (its wait timed out) are dropped past this.
const MAX_UNCLAIMED_OUTCOMES = 10_000;

interface Waiter {
  offset: bigint;
  resolve: () => void;
}

function encodeValue(record: WriteRecord): string | null {
  if (record.value === null) return null;
  return record.key.keytype === 'CONFIG'
    ? encodeConfigValue(record.value as { compatibilityLevel: never })
    : encodeSchemaValue(record.value as Parameters<typeof encodeSchemaValue>[0]);
}

// The `_schemas` topic as the registry's only storage. A write is produced, then applied when
// this process consumes it back in log order, like every other record; the writer learns the
// outcome its record had in the fold, so a write that lost a race to another process is known
// to have lost.
export class KafkaStore {
  readonly state = new RegistryState();
  private readonly instanceId = randomUUID();
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: RenewingProducer;
  private readonly consumer: Consumer;
  private readonly groupId: string;
  private readonly ownOutcomes = new Map<string, ApplyOutcome>();
  private waiters: Waiter[] = [];
  private applied = -1n;
  private failure: Error | undefined;
  private ready = false;

  constructor(private readonly options: KafkaStoreOptions) {
    this.kafka = new Kafka({ brokers: options.brokers, ...options.security, clientId: 'waybill-registry', logLevel: logLevel.WARN, logCreator: this.kafkaLogCreator() });
    this.admin = this.kafka.admin();
    // Renewed after a failed write: the next one must not be taken for a duplicate of it.
    this.producer = new RenewingProducer(() => this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }));
    // NOTE: a group of its own per process, with no committed offsets: every registry must read
    // the whole single partition, which a shared group would hand to only one member.
    this.groupId = `waybill-registry-${this.instanceId}`;
    this.consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 1000 });
  }

  private kafkaLogCreator() {
    const logger = this.options.logger.child({ component: 'kafkajs' });
    return () =>
      ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
        const { message, ...rest } = log;
        // kafkajs reports retried protocol errors (coordinator loading, topic exists) as errors;
        // what really fails reaches us as a thrown error or a consumer crash.
        if (level <= logLevel.WARN) logger.warn(rest, message);
        else logger.debug(rest, message);
      };
  }

  status(): 'starting' | 'ready' | 'failed' {
    if (this.failure) return 'failed';
    return this.ready ? 'ready' : 'starting';
  }

  // Creates the topic if missing, reads it to its end, and keeps consuming.
  async start(): Promise<void> {
    const { topic, logger } = this.options;
    try {
      await this.admin.connect();
      await this.ensureTopic();
      await this.producer.connect();
      await this.consumer.connect();
      this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        this.failure = payload.error;
        logger.error({ err: payload.error, topic }, 'schemas consumer crashed; the registry stops answering');
      });
      await this.consumer.subscribe({ topic, fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => this.consume(BigInt(message.offset), message.key, message.value, message.headers?.[WRITER_HEADER]),
      });
    } catch (err) {
      throw new StoreError(`could not start reading ${topic}: ${(err as Error).message}`, { topic }, { cause: err });
    }
    // NOTE: the end offset at start-up could be a compacted-away tombstone that is never
    // delivered; reading back a record of our own is a position we are sure to reach.
    await this.write([{ key: { keytype: 'NOOP' }, value: null }], 120_000);
    this.ready = true;
    logger.info({ topic, offset: this.applied.toString() }, 'caught up with the schemas topic');
  }

  private async ensureTopic(): Promise<void> {
    const { topic } = this.options;
    if (!(await this.admin.listTopics()).includes(topic)) await this.createTopic();
    const metadata = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions.length ?? 0;
    if (partitions !== 1) {
      throw new StoreError(`topic ${topic} must have exactly one partition to keep a single order of writes (it has ${partitions})`, { topic });
    }
  }

  private async createTopic(): Promise<void> {
    const { topic, replicationFactor, logger } = this.options;
    try {
      await createTopicsAndAwaitLeaders(this.admin, [{ topic, numPartitions: 1, replicationFactor, configs: { 'cleanup.policy': 'compact' } }]);
      logger.info({ topic, replicationFactor }, 'created the schemas topic');
    } catch (err) {
      // Another registry may have created it at the same moment; the metadata check decides.
      logger.debug({ err, topic }, 'createTopics failed; checking whether the topic exists');
    }
  }

  private consume(offset: bigint, key: Buffer | null, value: Buffer | null, writer: Buffer | string | (Buffer | string)[] | undefined): void {
    const record = decodeRecord(key, value);
    let outcome: ApplyOutcome = { status: 'rejected', reason: 'not a record this registry understands' };
    if (record) outcome = this.state.apply(record);
    else this.options.logger.warn({ offset: offset.toString(), key: key?.toString('utf8') }, 'skipping a record of the schemas topic');
    if (outcome.status === 'rejected' && record) this.options.logger.info({ offset: offset.toString(), reason: outcome.reason }, 'record lost a race');
    if (writer !== undefined && String(writer) === this.instanceId) {
      this.ownOutcomes.set(offset.toString(), outcome);
      if (this.ownOutcomes.size > MAX_UNCLAIMED_OUTCOMES) this.ownOutcomes.delete(this.ownOutcomes.keys().next().value as string);
    }
    this.applied = offset;
    if (this.waiters.length) {
      const due = this.waiters.filter((w) => w.offset <= offset);
      this.waiters = this.waiters.filter((w) => w.offset > offset);
      due.forEach((w) => w.resolve());
    }
  }

  private waitFor(offset: bigint, timeoutMs: number): Promise<void> {
    if (this.applied >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new StoreTimeoutError(`the write at offset ${offset} was not read back within ${timeoutMs} ms`, { topic: this.options.topic }));
      }, timeoutMs);
      const waiter: Waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  // Produces `records` as one batch and resolves, once they have been consumed back, with the
  // outcome each had in the fold.
  async write(records: WriteRecord[], timeoutMs = this.options.writeTimeoutMs ?? 30_000): Promise<ApplyOutcome[]> {
    if (this.failure) throw new StoreError(`the schemas consumer has stopped: ${this.failure.message}`, { topic: this.options.topic });
    let baseOffset: bigint;
    try {
      const [metadata] = await this.producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: records.map((r) => ({
          partition: 0,
          key: encodeKey(r.key as RegistryKey),
          value: encodeValue(r),
          headers: { [WRITER_HEADER]: this.instanceId },
        })),
      });
      baseOffset = BigInt(metadata.baseOffset ?? '-1');
    } catch (err) {
      throw new StoreError(`could not write to ${this.options.topic}: ${(err as Error).message}`, { topic: this.options.topic }, { cause: err });
    }
    if (baseOffset < 0n) throw new StoreError('the broker returned no offset for a write', { topic: this.options.topic });
    const offsets = records.map((_, i) => (baseOffset + BigInt(i)).toString());
    await this.waitFor(baseOffset + BigInt(records.length - 1), timeoutMs);
    return offsets.map((o) => {
      const outcome = this.ownOutcomes.get(o) ?? { status: 'rejected' as const, reason: 'outcome not recorded' };
      this.ownOutcomes.delete(o);
      return outcome;
    });
  }

  async stop(): Promise<void> {
    this.ready = false;
    // NOTE: each step is bounded: stopped together with its broker (Ctrl-C in a terminal signals
    // both), kafkajs would retry a LeaveGroup or DeleteGroups far past the shutdown timeout.
    const step = async (what: string, work: () => Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_STEP_MS)));
      const outcome = await Promise.race([work().then(() => 'done' as const, (error: unknown) => error), late]);
      clearTimeout(timer);
      if (outcome === 'late') this.options.logger.info({ step: what, ms: STOP_STEP_MS }, 'Kafka did not answer while stopping; going on');
      else if (outcome !== 'done') this.options.logger.debug({ step: what, error: String(outcome) }, 'stop step failed; going on');
    };
    await step('consumer disconnect', () => this.consumer.disconnect());
    await step('producer disconnect', () => this.producer.disconnect());
    // The group existed only to read the topic; leaving it behind would litter the cluster.
    await step('delete the reader group', () => this.admin.deleteGroups([this.groupId]));
    await step('admin disconnect', () => this.admin.disconnect());
  }
}
