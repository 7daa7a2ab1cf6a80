import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { freePort, runKafkaTool, silentProgress, startKafka, type KafkaHandle } from '@waybill/devstack';
import { KafkaApiKey, kafkaRequestHeader, TcpProxy } from './tcp-proxy';

/*
 * Why a committed transaction hangs after a SIGKILL, and how this file makes it happen every time
 * (Kafka 4.4.0, single-node KRaft; measured in test/support/hanging-transaction.experiment.ts):
 *
 * 1. The restarted broker publishes its metadata as it was before the kill: it leads everything,
 *    so the transaction coordinator loads the PrepareCommit transaction and sends its markers to
 *    itself. Its listeners do not accept yet, so the marker sender retries in a tight loop.
 * 2. The old broker incarnation's session expires (broker.session.timeout.ms after the
 *    controller starts) and the controller fences it: every partition's leader becomes -1 in
 *    one metadata delta.
 * 3. The metadata cache takes that image before ReplicaManager turns the partitions into
 *    followers, one by one. A marker retry in between asks for the data partitions' leader:
 *    KRaftMetadataCache.getPartitionLeaderEndpoint returns empty for leader -1 (no such broker in
 *    the image), which TransactionMarkerChannelManager reads as "likely deleted", so it drops the
 *    markers and appends CompleteCommit to __transaction_state.
 * 4. If that append lands before __transaction_state-N becomes a follower, the coordinator
 *    reloads CompleteCommit after the restart: a hanging transaction. If not, it reloads
 *    PrepareCommit and sends the markers again: no hang. Left alone, the race follows the load:
 *    8 of 8 cycles hung on a quiet machine, 12 of 32 on a busy one or pinned to one CPU, with
 *    "likely deleted" logged in nearly every cycle either way.
 *
 * The window in 4 is as long as ReplicaManager takes to reach __transaction_state-N, and it visits
 * the fenced partitions in java.util.HashMap order of their TopicPartition. So the broker here has
 * one transaction log partition (every transactional id lives in __transaction_state-0, which sits
 * late in that order once the map has 2048 buckets or more) and a filler topic big enough that
 * about two thousand partitions come first: a window of several hundred milliseconds instead of a
 * few tens. With a thousand, 32 of 32 cycles hung, pinned to one CPU or not, markers held over the
 * restart or not; but CI once missed (run 12, npm test's own parallel load: "likely deleted", then
 * "No longer the coordinator": the CompleteCommit append came after __transaction_state-0 had
 * become a follower), and with both cores kept busy by two other processes the experiment missed
 * 1 of 14 cycles at a thousand (2026-12-02) and 0 of 6 at two thousand, each cycle ~15 s longer.
 */

const TOOL = 'org.apache.kafka.tools.TransactionsCommand';
const FILLER_TOPIC = 'hanging-transaction-filler';
/** Fenced partitions ReplicaManager must turn into followers before the transaction log's: the window. */
const PARTITIONS_BEFORE_TRANSACTION_LOG = 2_000;

export interface HangingTransactionBroker {
  readonly dataDir: string;
  readonly bootstrap: string;
  readonly brokers: string[];
  /** In front of the broker's INTERNAL listener: holding it holds the coordinator's markers. */
  readonly proxy: TcpProxy;
  /** The running broker process (a new one after each `start`). */
  readonly handle: KafkaHandle;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** Starts the broker again on the same data and ports. */
  start(): Promise<void>;
  /** Stops the broker and the proxy; the data folder stays (for DumpLogSegments). */
  stop(): Promise<void>;
}

/**
 * A broker of its own for a test that needs a hanging transaction: single node, INTERNAL
 * inter-broker listener behind a proxy, one transaction log partition. Clients use `brokers`.
 */
export async function startBrokerForHangingTransactions(
  options: {
    dataDir?: string;
    heapMb?: number;
    /** 1 (the default) puts every transactional id in __transaction_state-0; 12 is the shared broker's, for experiments. */
    transactionLogPartitions?: number;
  } = {},
): Promise<HangingTransactionBroker> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'waybill-hanging-txn-'));
  const ports = { brokerPort: await freePort(), controllerPort: await freePort(), interBrokerPort: await freePort() };
  const proxy = await TcpProxy.start({ target: { port: ports.interBrokerPort }, frames: true });
  const launch = () =>
    startKafka(
      {
        dataDir,
        ...ports,
        interBrokerAdvertisedPort: proxy.port,
        heapMb: options.heapMb ?? 512,
        serverProperties: { 'transaction.state.log.num.partitions': String(options.transactionLogPartitions ?? 1) },
      },
      silentProgress,
    );
  let handle: KafkaHandle;
  try {
    handle = await launch();
  } catch (err) {
    await proxy.close();
    throw err;
  }
  return {
    dataDir,
    bootstrap: handle.bootstrap,
    brokers: handle.brokers,
    proxy,
    get handle() {
      return handle;
    },
    async kill() {
      handle.service.kill('SIGKILL');
      await handle.service.exited;
    },
    async start() {
      handle = await launch();
    },
    async stop() {
      await handle.stop();
      await proxy.close();
    },
  };
}

export interface TransactionDescription {
  transactionalId: string;
  producerId: string;
  producerEpoch: number;
  state: string;
  partitions: Array<{ topic: string; partition: number }>;
}

export interface HangingPartition {
  topic: string;
  partition: number;
  /** First offset of the records left without a marker: where the LSO is pinned. */
  startOffset: string;
  /** The partition's last stable offset after the restart (ListOffsets, read_committed). */
  lastStableOffset: string;
}

export interface HangingTransaction {
  transactionalId: string;
  producerId: string;
  producerEpoch: number;
  partitions: HangingPartition[];
  /** DescribeTransactions before the kill (PrepareCommit) and after the restart (CompleteCommit, no partitions). */
  before: TransactionDescription;
  after: TransactionDescription;
}

export interface MakeHangingTransactionOptions {
  broker: HangingTransactionBroker;
  /** The transactional ids `commit` commits for; each must end up hanging. */
  transactionalIds: readonly string[];
  /**
   * Does the work that commits a transaction for every id: a producer's `transaction.commit()`,
   * or feeding a stream task the input it will commit. It may resolve before the commits are
   * made: the helper then waits (up to `timeoutMs`) for each id to reach PrepareCommit. Produce
   * requests still pass meanwhile; only the coordinator's markers are held.
   */
  commit: () => Promise<void>;
  /**
   * Runs while the broker is down: say, SIGKILL the process under test too. A producer of the
   * same epoch that outlives the restart and commits again on those partitions writes a COMMIT
   * marker that takes the hanging records with it.
   */
  whileDown?: () => Promise<void>;
  /** Keep the markers held until the restarted broker is up (default: released at the kill). Both hang alike. */
  holdMarkersDuringRestart?: boolean;
  /** false leaves the fencing window as it is (no filler partitions): only for measuring the race. */
  lengthenWindow?: boolean;
  timeoutMs?: number;
}

export class HangingTransactionNotReproduced extends Error {}

/**
 * Commits through `commit` while the coordinator's markers are held, SIGKILLs the broker,
 * restarts it and returns the transactions left hanging: the coordinator says CompleteCommit
 * (a new InitProducerId for the id succeeds at once) while the records and the group offsets
 * they wrote have no COMMIT marker, invisible to read_committed readers, the LSO pinned below
 * them. Throws HangingTransactionNotReproduced, with what it saw, if any id did not hang.
 *
 * The broker comes back ready (clients connected before the kill reconnect); nothing has sent a
 * new InitProducerId for these ids: that is left to the code under test.
 */
export async function makeHangingTransaction(options: MakeHangingTransactionOptions): Promise<HangingTransaction[]> {
  const { broker, transactionalIds } = options;
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  const kafka = new Kafka({ brokers: broker.brokers, clientId: 'hanging-transaction', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const stopWatching = new AbortController();
  await admin.connect();
  try {
    if (options.lengthenWindow !== false) await lengthenFencingWindow(admin, transactionalIds);

    // Only the marker sender's connection is held: the produce path's AddPartitionsToTxn
    // verification uses the same listener and must keep working while `commit` produces.
    const markersHeld = broker.proxy.holdWhen((frame) => kafkaRequestHeader(frame)?.apiKey === KafkaApiKey.WriteTxnMarkers, {
      hold: 'upstream',
      signal: stopWatching.signal,
    });
    markersHeld.catch(() => undefined);
    await options.commit();
    await withDeadline(markersHeld, deadline, 'no WriteTxnMarkers reached the inter-broker proxy: nothing committed, or the broker was not started by startBrokerForHangingTransactions');

    const before = new Map<string, TransactionDescription>();
    for (const id of transactionalIds) before.set(id, await describedIn(broker.bootstrap, id, 'PrepareCommit', deadline));

    const logFrom = serverLogSize(broker);
    await admin.disconnect();
    await broker.kill();
    if (options.holdMarkersDuringRestart) broker.proxy.pause();
    else broker.proxy.resume();
    await options.whileDown?.();
    await broker.start();
    // Up means unfenced: the coordinator has reloaded the transaction log at its new epoch, so
    // held markers no longer decide anything; a transaction that survived the restart in
    // PrepareCommit completes normally once they pass.
    broker.proxy.resume();
    await admin.connect();

    const after = new Map<string, TransactionDescription>();
    for (const id of transactionalIds) after.set(id, await settledDescription(broker.bootstrap, id, deadline));

    const open = await findHanging(broker.bootstrap);
    const result: HangingTransaction[] = [];
    const missing: string[] = [];
    for (const id of transactionalIds) {
      const was = before.get(id) as TransactionDescription;
      const now = after.get(id) as TransactionDescription;
      const rows = open.filter((row) => row.producerId === was.producerId);
      const partitions: HangingPartition[] = [];
      for (const { topic, partition } of was.partitions) {
        const row = rows.find((r) => r.topic === topic && r.partition === partition);
        if (!row) missing.push(`${id} ${topic}-${partition}`);
        else partitions.push({ topic, partition, startOffset: row.startOffset, lastStableOffset: await lastStableOffset(admin, topic, partition) });
      }
      result.push({ transactionalId: id, producerId: was.producerId, producerEpoch: was.producerEpoch, partitions, before: was, after: now });
    }
    if (missing.length > 0) {
      throw new HangingTransactionNotReproduced(
        `not hanging after the restart: ${missing.join(', ')}; coordinator now: ${[...after.values()].map((d) => `${d.transactionalId} ${d.state}`).join(', ')}; ` +
          `broker log: ${serverLogSince(broker, logFrom, /likely deleted|No longer the coordinator for transactionalId/).join(' | ') || 'no skipped markers'}`,
      );
    }
    return result;
  } finally {
    stopWatching.abort(new Error('makeHangingTransaction is done'));
    // A failed attempt must not leave the broker without markers for the rest of the test.
    broker.proxy.resume();
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Makes sure enough fenced partitions come before the transaction log partition in the order
 * ReplicaManager walks them (see the top of this file), adding filler partitions if needed.
 */
async function lengthenFencingWindow(admin: Admin, transactionalIds: readonly string[]): Promise<void> {
  const metadata = await admin.fetchTopicMetadata({ topics: await admin.listTopics() });
  const partitions = metadata.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId })));
  const logPartitions = metadata.topics.find((t) => t.name === '__transaction_state')?.partitions.length ?? 1;
  if (!partitions.some((p) => p.topic === '__transaction_state')) partitions.push({ topic: '__transaction_state', partition: 0 });
  const existingFiller = partitions.filter((p) => p.topic === FILLER_TOPIC).length;
  const others = partitions.filter((p) => p.topic !== FILLER_TOPIC);
  const logTargets = [...new Set(transactionalIds.map((id) => transactionLogPartition(id, logPartitions)))];

  const enough = (filler: number) => {
    const all = [...others, ...Array.from({ length: filler }, (_, partition) => ({ topic: FILLER_TOPIC, partition }))];
    return logTargets.every((p) => partitionsVisitedBefore(all, { topic: '__transaction_state', partition: p }) >= PARTITIONS_BEFORE_TRANSACTION_LOG);
  };
  let filler = existingFiller;
  while (!enough(filler)) {
    filler += 50;
    if (filler > 6_000) {
      throw new HangingTransactionNotReproduced(
        `__transaction_state-${logTargets.join(',')} stays early in ReplicaManager's order whatever the filler: start the broker with startBrokerForHangingTransactions (one transaction log partition)`,
      );
    }
  }
  if (filler === existingFiller) return;
  if (existingFiller === 0) {
    await admin.createTopics({ topics: [{ topic: FILLER_TOPIC, numPartitions: filler, replicationFactor: 1 }], waitForLeaders: true, timeout: 120_000 });
  } else {
    await admin.createPartitions({ topicPartitions: [{ topic: FILLER_TOPIC, count: filler }], timeout: 120_000 });
  }
}

/** Java's String.hashCode. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The coordinator's partitionFor: Utils.abs(transactionalId.hashCode) % partitions. */
export function transactionLogPartition(transactionalId: string, partitions: number): number {
  const h = javaStringHash(transactionalId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

/** TopicPartition.hashCode, then HashMap's spreading of the high bits. */
function spreadHash(tp: { topic: string; partition: number }): number {
  const h = (Math.imul(31, 31 + tp.partition) + javaStringHash(tp.topic)) | 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * How many of `all` a java.util.HashMap holding exactly them iterates before `target`: buckets in
 * index order, `capacity` the power of two a map of that size grows to (load factor 0.75).
 */
export function partitionsVisitedBefore(all: ReadonlyArray<{ topic: string; partition: number }>, target: { topic: string; partition: number }): number {
  let capacity = 16;
  while (all.length > capacity * 0.75) capacity *= 2;
  const bucket = (tp: { topic: string; partition: number }) => spreadHash(tp) & (capacity - 1);
  const at = bucket(target);
  return all.filter((tp) => bucket(tp) < at).length;
}

async function describeTransaction(bootstrap: string, transactionalId: string): Promise<TransactionDescription | undefined> {
  const { stdout } = await runKafkaTool(TOOL, ['--bootstrap-server', bootstrap, 'describe', '--transactional-id', transactionalId]);
  const [row] = table(stdout);
  if (!row) return undefined;
  return {
    transactionalId,
    producerId: row.ProducerId,
    producerEpoch: Number(row.ProducerEpoch),
    state: row.TransactionState,
    partitions: (row.TopicPartitions ?? '')
      .split(',')
      .filter(Boolean)
      .map((tp) => ({ topic: tp.slice(0, tp.lastIndexOf('-')), partition: Number(tp.slice(tp.lastIndexOf('-') + 1)) })),
  };
}

/** Polls DescribeTransactions until `state`: an earlier transaction of the id may still show as Complete*. */
async function describedIn(bootstrap: string, transactionalId: string, state: string, deadline: number): Promise<TransactionDescription> {
  for (;;) {
    const description = await describeTransaction(bootstrap, transactionalId).catch(() => undefined);
    if (description?.state === state) return description;
    if (Date.now() > deadline) {
      throw new HangingTransactionNotReproduced(`${transactionalId} is ${description?.state ?? 'not described'} with the markers held, never ${state}: did commit() commit it?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Waits until the restarted coordinator has finished with the transaction one way or the other. */
async function settledDescription(bootstrap: string, transactionalId: string, deadline: number): Promise<TransactionDescription> {
  for (;;) {
    const description = await describeTransaction(bootstrap, transactionalId).catch(() => undefined);
    if (description && !description.state.startsWith('Prepare')) return description;
    if (Date.now() > deadline) throw new HangingTransactionNotReproduced(`${transactionalId} still ${description?.state ?? 'not described'} after the restart`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** `find-hanging` with no age limit: open transactions on the broker's partitions that their coordinator does not list. */
async function findHanging(bootstrap: string): Promise<Array<{ topic: string; partition: number; producerId: string; startOffset: string }>> {
  const { stdout } = await runKafkaTool(TOOL, ['--bootstrap-server', bootstrap, 'find-hanging', '--broker-id', '1', '--max-transaction-timeout', '0']);
  return table(stdout).map((row) => ({ topic: row.Topic, partition: Number(row.Partition), producerId: row.ProducerId, startOffset: row.StartOffset }));
}

async function lastStableOffset(admin: Admin, topic: string, partition: number): Promise<string> {
  // NOTE: kafkajs' admin asks ListOffsets with READ_COMMITTED: its "high" is the LSO.
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.find((o) => o.partition === partition)?.high ?? '';
}

/** The tab-separated tables Kafka's tools print, as rows keyed by header. */
function table(output: string): Array<Record<string, string>> {
  const lines = output.split('\n').filter((line) => line.includes('\t'));
  if (lines.length === 0) return [];
  const header = lines[0].split('\t').map((cell) => cell.trim());
  return lines.slice(1).map((line) => {
    const cells = line.split('\t').map((cell) => cell.trim());
    return Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']));
  });
}

function serverLogSize(broker: HangingTransactionBroker): number {
  const file = join(broker.dataDir, 'logs', 'server.log');
  return existsSync(file) ? statSync(file).size : 0;
}

function serverLogSince(broker: HangingTransactionBroker, from: number, pattern: RegExp): string[] {
  const file = join(broker.dataDir, 'logs', 'server.log');
  if (!existsSync(file)) return [];
  return readFileSync(file).subarray(from).toString('utf8').split('\n').filter((line) => pattern.test(line));
}

async function withDeadline<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangingTransactionNotReproduced(message)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the broker answers for consumer group `groupId`: the first FindCoordinator creates
 * `__consumer_offsets`, and a transaction's sendOffsets does not wait for it.
 */
export async function awaitGroupCoordinator(admin: Admin, groupId: string, topic: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.fetchOffsets({ groupId, topics: [topic] });
      return;
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
