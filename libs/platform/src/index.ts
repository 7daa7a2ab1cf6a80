export { ConfigError } from './lib/errors';
export { baseConfigShape, baseConfigSchema, loadConfig, type BaseConfig } from './lib/config';
export { createLogger, withLogContext, type Logger } from './lib/logging';
export { createMetrics, type AppMetrics } from './lib/metrics';
export { ROLES, type Role, type Principal, hashApiKey, parseApiKeys, authenticate, apiKeyAuth, requireRole } from './lib/auth';
export { createHttpApp, jsonErrorHandler, listen, type ReadinessCheck, type HttpAppOptions } from './lib/http';
export { installShutdown, type ShutdownStep } from './lib/shutdown';
export { createKafka } from './lib/kafka';
export { SerialProducer } from './lib/serial-producer';
