import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, listen, type Logger } from '@waybill/platform';
import { createHttpApi } from './http-api';
import { KafkaStore } from './kafka-store';
import { RegistryService } from './registry-service';

/** Where and how `startRegistry` runs. */
export interface RegistryOptions {
  /** HTTP port; 0 picks a free one. Default 8081, Confluent's. */
  port?: number;
  /** Interface to bind. Default `0.0.0.0`. */
  host?: string;
  brokers: string[];
  /** The compacted topic holding all state. Default `_schemas`. */
  topic?: string;
  /** Used only when the topic is created. Default 1. */
  replicationFactor?: number;
  logger?: Logger;
}

/** A running registry. */
export interface RunningRegistry {
  /** Base URL for clients, e.g. `http://127.0.0.1:8081`. */
  url: string;
  port: number;
  /** Stops answering, then leaves the topic. */
  close(): Promise<void>;
}

/**
 * Starts a Confluent-compatible schema registry whose only state is the compacted `topic`.
 * Resolves once it has read the topic to its end and listens; several registries may share a
 * topic and agree on every id.
 */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const logger = options.logger ?? createLogger('registry');
  const topic = options.topic ?? '_schemas';
  const store = new KafkaStore({ brokers: options.brokers, topic, replicationFactor: options.replicationFactor ?? 1, logger });
  const service = new RegistryService(store, logger);
  const started = store.start();
  // Requests arriving during catch-up wait for it; a failed start is reported by `started` below.
  const whenReady = started.catch(() => undefined);
  const app = createHttpApi({ service, logger, status: () => store.status(), whenReady });
  const host = options.host ?? '0.0.0.0';
  let server: Server | undefined;
  try {
    server = await listen(app, options.port ?? 8081, host);
    await started;
  } catch (err) {
    const listening = server;
    if (listening) await new Promise<void>((resolve) => listening.close(() => resolve()));
    await started.catch(() => undefined);
    await store.stop();
    throw err;
  }
  const httpServer = server;
  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
  logger.debug({ url, topic }, 'schema registry ready');
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
        await store.stop();
      })();
      return closing;
    },
  };
}
