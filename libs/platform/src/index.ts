export { ConfigError } from './lib/errors';
export { baseConfigShape, baseConfigSchema, loadConfig, rateLimitOf, type BaseConfig } from './lib/config';
export { createLogger, withLogContext, type Logger } from './lib/logging';
export { createMetrics, type AppMetrics } from './lib/metrics';
export { ROLES, type Role, type Principal, hashApiKey, parseApiKeys, authenticate, apiKeyAuth, identifyApiKey, principalOf, requireRole } from './lib/auth';
export { createHttpApp, jsonErrorHandler, listen, SECURITY_HEADERS, type ReadinessCheck, type HttpAppOptions } from './lib/http';
export { installShutdown, redisShutdownStep, type ShutdownStep } from './lib/shutdown';
export { createKafka, createTopicsAndAwaitLeaders, crashWithConsumer, rewindToTime, type NewTopic } from './lib/kafka';
export { RenewingProducer, SerialProducer } from './lib/serial-producer';
export { runApp, type AppStart } from './lib/run-app';
export { retry } from './lib/retry';
export { PeriodicPass } from './lib/periodic';
export { failpoint, parseFailpoints, FAILPOINTS_ENV } from './lib/failpoints';
export { openApiDocument, openApiMismatches, expressRoutes, errorAnswer, jsonAnswer, param, UNAVAILABLE, type ApiDescription, type OpenApiDocument, type Operation, type Paths } from './lib/openapi';
export {
  connectionConfigShape,
  connectionProblems,
  connectionsFromEnv,
  createRedis,
  redisUrls,
  duplicateRedis,
  scanKeys,
  unlinkKeys,
  dropLegacyLayout,
  type RedisClient,
  kafkaSecurity,
  redisOptions,
  registryClientOptions,
  KAFKA_SECURITY_PROTOCOLS,
  KAFKA_SASL_MECHANISMS,
  SECRET_VARIABLES,
  type ConnectionConfig,
  type RegistryConnectionOptions,
} from './lib/connections';
export { preflight, checkKafka, checkRedis, checkRegistry, classifyConnectionFailure, redactedUrl, ConnectionRefusedError, type ConnectionFailure } from './lib/preflight';
