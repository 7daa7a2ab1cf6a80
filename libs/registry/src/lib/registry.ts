import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KafkaConfig } from 'kafkajs';
import { createLogger, listen, type Logger } from '@waybill/platform';
import type { BasicAuthUsers } from './basic-auth';
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
  /** How the broker is reached when it is secured (platform's `kafkaSecurity`). */
  kafkaSecurity?: Pick<KafkaConfig, 'ssl' | 'sasl'>;
  /** Serve HTTPS with this PEM certificate (chain) and key instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Require HTTP basic auth from these users (`parseBasicAuthUsers`); health checks stay open. */
  users?: BasicAuthUsers;
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
  const store = new KafkaStore({ brokers: options.brokers, security: options.kafkaSecurity, topic, replicationFactor: options.replicationFactor ?? 1, logger });
  const service = new RegistryService(store, logger);
  const started = store.start();
  // Requests arriving during catch-up wait for it; a failed start is reported by `started` below.
  const whenReady = started.catch(() => undefined);
  const app = createHttpApi({ service, logger, status: () => store.status(), whenReady, users: options.users });
  const host = options.host ?? '0.0.0.0';
  let server: Server | undefined;
  try {
    server = options.tls ? await listenTls(app, options.tls, options.port ?? 8081, host) : await listen(app, options.port ?? 8081, host);
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
  const url = `${options.tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
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

function listenTls(app: Parameters<typeof listen>[0], tls: { cert: string; key: string }, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createHttpsServer({ cert: tls.cert, key: tls.key }, app);
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
