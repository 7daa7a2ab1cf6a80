import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SchemaNotFoundError } from './errors';

/**
 * The two registry calls the serde needs. `getSchema` must reject with `SchemaNotFoundError` when
 * the id is unknown; any other rejection is treated as the registry being unavailable (retriable).
 */
export interface SchemaRegistryClient {
  /** Registers (or looks up) an Avro schema under a subject and returns its global id. */
  register(subject: string, schema: string): Promise<number>;
  /** The Avro schema JSON registered under a global id. */
  getSchema(id: number): Promise<string>;
}

/** Options passed through to `@kafkajs/confluent-schema-registry`'s client. */
export type KafkajsRegistryOptions = Omit<ConstructorParameters<typeof SchemaRegistry>[0], 'host'>;

interface AvscTypeLike {
  schema(options?: { exportAttrs?: boolean }): unknown;
}

/** A `SchemaRegistryClient` over the stock `@kafkajs/confluent-schema-registry` client. */
export function kafkajsRegistryClient(host: string, options: KafkajsRegistryOptions = {}): SchemaRegistryClient {
  const registry = new SchemaRegistry({ ...options, host });
  return {
    async register(subject, schema) {
      const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
      return id;
    },
    async getSchema(id) {
      try {
        // NOTE: the client hands back a parsed avsc Type, not the registry's text; re-serialising it
        // keeps the binary layout, which is all a writer schema is needed for.
        const type = (await registry.getSchema(id)) as unknown as AvscTypeLike;
        return JSON.stringify(type.schema({ exportAttrs: true }));
      } catch (error) {
        if ((error as { status?: unknown } | null)?.status === 404) throw new SchemaNotFoundError(id, { cause: error });
        throw error;
      }
    },
  };
}
