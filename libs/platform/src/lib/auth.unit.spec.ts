import { authenticate, hashApiKey, parseApiKeys, principalOf } from './auth';
import { ConfigError } from './errors';

describe('API keys', () => {
  const keys = parseApiKeys(`ana:associate:${hashApiKey('secret-a')},sue:supervisor:${hashApiKey('secret-s')}`);

  it('finds the principal of a known key and nobody for an unknown or missing one', () => {
    expect(authenticate(keys, 'secret-s')).toEqual({ id: 'sue', role: 'supervisor' });
    expect(authenticate(keys, 'secret-a')).toEqual({ id: 'ana', role: 'associate' });
    expect(authenticate(keys, 'secret-x')).toBeUndefined();
    expect(authenticate(keys, '')).toBeUndefined();
    expect(authenticate(keys, undefined)).toBeUndefined();
  });

  it('keeps only hashes, never the key', () => {
    expect(JSON.stringify(keys.map((k) => k.hash.toString('hex')))).not.toContain('secret');
  });

  it('refuses malformed entries, unknown roles and short hashes, naming each', () => {
    expect(() => parseApiKeys('nobody')).toThrow(ConfigError);
    try {
      parseApiKeys(`a:root:${hashApiKey('k')},b:viewer:abc`);
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        expect.stringContaining('unknown role "root"'),
        expect.stringContaining('64 hex characters'),
      ]);
    }
    expect.assertions(2);
  });

  it('hands a handler the principal authentication set, and refuses a route mounted without it', () => {
    expect(principalOf({ principal: { id: 'sue', role: 'supervisor' } })).toEqual({ id: 'sue', role: 'supervisor' });
    expect(() => principalOf({})).toThrow('route mounted without authentication');
  });
});
