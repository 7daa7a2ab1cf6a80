import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ChildService, waitUntil } from './child-service';
import { MissingDependencyError, ServiceStartError } from './errors';
import type { TestCertificates } from './certificates';
import { renderServerProperties, securedListenerProperties } from './kafka-properties';
import { kafkaLibsDir, kafkaVersion, workspaceRoot } from './workspace';
import type { Progress } from './progress';

const run = promisify(execFile);

function javaBinary(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * Makes sure Kafka's jars are in `.cache/kafka/<version>/libs`, fetching them once through Maven
 * from Maven Central. Reports each downloaded artifact, since the first fetch takes a while.
 */
export async function ensureKafkaRuntime(progress: Progress, root = workspaceRoot()): Promise<string> {
  const version = kafkaVersion(root);
  const libs = kafkaLibsDir(root, version);
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${version}`))) return libs;
  await run('mvn', ['-v']).catch(() => {
    throw new MissingDependencyError('Maven (mvn) is needed once to fetch Kafka\'s jars: apt-get install maven');
  });
  progress.step(`fetching Apache Kafka ${version} jars from Maven Central (once)`);
  let downloaded = 0;
  await new Promise<void>((resolve, reject) => {
    const mvn = spawn('mvn', ['-B', '-ntp', '-f', join(root, 'infra', 'kafka', 'pom.xml'), 'package'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MAVEN_OPTS: process.env.MAVEN_OPTS ?? '-Xmx512m' },
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-8000);
      // NOTE: -ntp hides transfer bars; Maven still names each artifact as it resolves it.
      for (const line of text.split('\n')) {
        const copied = /Copying (\S+\.jar)/.exec(line);
        if (copied) progress.update(`copied ${++downloaded} jars (${copied[1]})`);
        else if (/Downloaded from|Downloading from/.test(line)) progress.update(line.replace(/^\[INFO\]\s*/, '').slice(0, 100));
      }
    };
    mvn.stdout.on('data', onData);
    mvn.stderr.on('data', onData);
    mvn.on('error', reject);
    mvn.on('exit', (code) =>
      code === 0 ? resolve() : reject(new ServiceStartError(`mvn exited with ${code} while fetching Kafka:\n${output}`)),
    );
  });
  progress.done(`Kafka ${version}: ${readdirSync(libs).length} jars in ${libs}`);
  return libs;
}

export interface KafkaOptions {
  dataDir: string;
  brokerPort: number;
  controllerPort: number;
  /**
   * Gives inter-broker traffic its own listener (INTERNAL, on this port) instead of PLAINTEXT.
   * In this single-node cluster that traffic is the transaction coordinator writing its
   * WriteTxnMarkers to this same broker (and produce-time AddPartitionsToTxn verification), so a
   * proxy in front of it (see `interBrokerAdvertisedPort`) holds a committed transaction in
   * PrepareCommit at will. Clients keep connecting to `brokerPort`.
   */
  interBrokerPort?: number;
  /** Where the broker tells itself INTERNAL is: a test's proxy forwarding to `interBrokerPort`. Defaults to it. */
  interBrokerAdvertisedPort?: number;
  /**
   * Broker settings that differ from infra/kafka/server.properties, for a test that needs a
   * broker unlike the shared one (say, `transaction.state.log.num.partitions`). Settings that
   * only take effect when an internal topic is created need the same value on every start.
   */
  serverProperties?: Readonly<Record<string, string>>;
  heapMb?: number;
  root?: string;
  /**
   * Secured client listeners beside PLAINTEXT (which stays for the controller and for tools):
   * SASL_SSL on `saslSslPort` (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512) and, with `sslPort`, SSL
   * requiring a client certificate signed by the same CA. SCRAM users are written into the
   * storage at format time (`kafka-storage format --add-scram`), so a secured broker needs a
   * fresh data folder.
   */
  secured?: SecuredKafkaOptions;
}

export interface SecuredKafkaOptions {
  saslSslPort: number;
  sslPort?: number;
  certificates: TestCertificates;
  scramUsers?: ReadonlyArray<{ mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }>;
  plainUsers?: ReadonlyArray<{ name: string; password: string }>;
}

export interface KafkaHandle {
  bootstrap: string;
  brokers: string[];
  /** With `secured`: the SASL_SSL and SSL (client certificate) listeners' addresses. */
  saslSslBootstrap?: string;
  sslBootstrap?: string;
  service: ChildService;
  stop(): Promise<void>;
}

function javaArgs(libs: string, root: string, logsDir: string, heapMb: number): string[] {
  return [
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(root, 'infra', 'kafka', 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${logsDir}`,
    '-cp',
    join(libs, '*'),
  ];
}

/**
 * Starts a single-node KRaft broker (broker and controller in one JVM) from the cached jars,
 * formatting its storage on first start, and resolves once it answers Metadata.
 */
export async function startKafka(options: KafkaOptions, progress: Progress): Promise<KafkaHandle> {
  if (options.interBrokerAdvertisedPort !== undefined && options.interBrokerPort === undefined) {
    throw new ServiceStartError('interBrokerAdvertisedPort needs interBrokerPort: the port the broker listens on behind it');
  }
  const root = options.root ?? workspaceRoot();
  const libs = await ensureKafkaRuntime(progress, root);
  const heapMb = options.heapMb ?? 512;
  const dataDir = join(options.dataDir, 'data');
  const logsDir = join(options.dataDir, 'logs');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });

  const template = readFileSync(join(root, 'infra', 'kafka', 'server.properties'), 'utf8');
  const properties = renderServerProperties(template, {
    brokerPort: options.brokerPort,
    controllerPort: options.controllerPort,
    logDirs: dataDir,
    interBroker:
      options.interBrokerPort === undefined
        ? undefined
        : { port: options.interBrokerPort, advertisedPort: options.interBrokerAdvertisedPort ?? options.interBrokerPort },
    overrides: options.serverProperties,
  });
  const secured = options.secured;
  const finalProperties = secured ? securedListenerProperties(properties, { ...secured, certificates: secured.certificates }) : properties;
  const propertiesFile = join(options.dataDir, 'server.properties');
  writeFileSync(propertiesFile, finalProperties);

  const java = javaBinary();
  const baseArgs = javaArgs(libs, root, logsDir, heapMb);
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    progress.step('formatting Kafka storage (first start)');
    try {
      const { stdout } = await run(java, [...baseArgs, 'kafka.tools.StorageTool', 'random-uuid']);
      const clusterId = stdout.trim().split('\n').pop()?.trim() ?? '';
      // NOTE: SCRAM credentials live in the metadata log; on KRaft the bootstrap way to have them
      // before the broker first starts is `kafka-storage format --add-scram`.
      const scram = (secured?.scramUsers ?? []).flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]);
      await run(java, [...baseArgs, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile, ...scram]);
    } catch (err) {
      throw new ServiceStartError(`could not format Kafka storage in ${dataDir}`, {}, { cause: err });
    }
    progress.done(`Kafka storage formatted in ${dataDir}`);
  }

  progress.step(`starting Kafka broker on 127.0.0.1:${options.brokerPort}`);
  const service = ChildService.spawn('kafka', java, [...baseArgs, 'kafka.Kafka', propertiesFile], {
    logFile: join(logsDir, 'stdout.log'),
    echo: /\b(ERROR|FATAL)\b/,
  });
  const bootstrap = `127.0.0.1:${options.brokerPort}`;
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'waybill-devstack', logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const started = Date.now();
  try {
    await waitUntil(
      'Kafka',
      async () => {
        progress.update(`waiting for Kafka to answer Metadata (${Math.round((Date.now() - started) / 1000)} s)`);
        const admin = kafka.admin();
        try {
          await admin.connect();
          const cluster = await admin.describeCluster();
          return cluster.brokers.length > 0 && cluster.controller !== null;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
      { timeoutMs: 90_000, service, intervalMs: 500 },
    );
  } catch (err) {
    await service.stop(2_000);
    throw new ServiceStartError((err as Error).message);
  }
  progress.done(`Kafka ${kafkaVersion(root)} ready on ${bootstrap} (${Date.now() - started} ms)`);
  return {
    bootstrap,
    brokers: [bootstrap],
    saslSslBootstrap: secured ? `127.0.0.1:${secured.saslSslPort}` : undefined,
    sslBootstrap: secured?.sslPort ? `127.0.0.1:${secured.sslPort}` : undefined,
    service,
    stop: () => service.stop(10_000),
  };
}

/** Runs one of Kafka's own command-line tools (console consumer, consumer-groups…) from the cached jars. */
export async function runKafkaTool(
  mainClass: string,
  args: readonly string[],
  options: { root?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  const root = options.root ?? workspaceRoot();
  const libs = kafkaLibsDir(root);
  if (!existsSync(libs)) throw new MissingDependencyError(`Kafka jars are not in ${libs}; run npm start once or mvn -f infra/kafka/pom.xml package`);
  return run(
    javaBinary(),
    [
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${join(root, 'infra', 'kafka', 'tools-log4j2.properties')}`,
      '-cp',
      join(libs, '*'),
      mainClass,
      ...args,
    ],
    { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
}
