import { z } from 'zod';
import { baseConfigShape, loadConfig } from './config';
import { ConfigError } from './errors';

const schema = z.object(baseConfigShape);
const valid = {
  PORT: '3001',
  KAFKA_BROKERS: 'localhost:9092, localhost:9093',
  SCHEMA_REGISTRY_URL: 'http://localhost:8081',
  REDIS_URL: 'redis://localhost:6379',
  API_KEYS: 'ana:associate:' + 'a'.repeat(64),
};

describe('loadConfig', () => {
  it('parses a valid environment, splitting broker lists and applying defaults', () => {
    const config = loadConfig(schema, valid);
    expect(config.KAFKA_BROKERS).toEqual(['localhost:9092', 'localhost:9093']);
    expect(config.PORT).toBe(3001);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('names every bad variable at once, saying which are unset', () => {
    let error: unknown;
    try {
      loadConfig(schema, { ...valid, PORT: 'eighty', REDIS_URL: 'localhost:6379', KAFKA_BROKERS: undefined });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('PORT:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('REDIS_URL:'))).toContain('redis://');
    expect(problems.find((p) => p.startsWith('KAFKA_BROKERS:'))).toContain('(not set)');
  });
});
