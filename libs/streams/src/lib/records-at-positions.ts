import type { Kafka } from 'kafkajs';
import { KafkaWire, type FetchedRecord } from './kafka-wire';

/** A record read back, with the partition it was read from. */
export type PositionedRecord = FetchedRecord & { partition: number };

/** Where a record sits: what read models record so that history they no longer hold can be read back. */
export interface RecordPosition {
  partition: number;
  offset: string;
}

/**
 * Reads records of one topic back by the positions a read model recorded for them: the history a
 * retention window moved out of Redis is still in Kafka, and this is how it is fetched. Connects on
 * first use (a window that never archives never opens a connection), and after a failed connect
 * tries again on the next read.
 */
export class RecordsAtPositions {
  private readonly wire: KafkaWire;
  private connecting?: Promise<void>;

  constructor(kafka: Kafka) {
    this.wire = new KafkaWire(kafka);
  }

  /** The records at `positions` of the physical `topic`, in the order given; undefined where a position holds no record. */
  async read(topic: string, positions: readonly RecordPosition[]): Promise<Array<PositionedRecord | undefined>> {
    await (this.connecting ??= this.wire.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    }));
    const byPartition = new Map<number, bigint[]>();
    for (const { partition, offset } of positions) {
      const offsets = byPartition.get(partition) ?? [];
      offsets.push(BigInt(offset));
      byPartition.set(partition, offsets);
    }
    const found = new Map<string, PositionedRecord>();
    for (const [partition, offsets] of byPartition) {
      for (const record of await this.wire.readAt(topic, partition, offsets)) found.set(`${partition}:${record.offset}`, { ...record, partition });
    }
    return positions.map(({ partition, offset }) => found.get(`${partition}:${offset}`));
  }

  async stop(): Promise<void> {
    if (this.connecting) await this.wire.disconnect().catch(() => undefined);
    this.connecting = undefined;
  }
}
