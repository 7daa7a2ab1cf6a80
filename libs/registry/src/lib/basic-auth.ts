import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from '@waybill/platform';

/** Users allowed in, by name, each with the SHA-256 of their password (never the password). */
export type BasicAuthUsers = ReadonlyMap<string, Buffer>;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * `user:sha256-hex-of-password` entries, comma separated (as `API_KEYS` keeps hashes only): what
 * `REGISTRY_BASIC_AUTH_USERS` holds. Clients present the password itself
 * (`SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=user:password`).
 */
export function parseBasicAuthUsers(spec: string): BasicAuthUsers {
  const users = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const entry of spec.split(',').map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.lastIndexOf(':');
    const name = entry.slice(0, colon);
    const hash = entry.slice(colon + 1);
    if (colon <= 0 || !/^[0-9a-f]{64}$/i.test(hash)) problems.push(`REGISTRY_BASIC_AUTH_USERS: entry ${users.size + problems.length + 1} is not user:<64 hex digits of SHA-256>`);
    else users.set(name, Buffer.from(hash, 'hex'));
  }
  if (problems.length) throw new ConfigError(problems);
  if (users.size === 0) throw new ConfigError(['REGISTRY_BASIC_AUTH_USERS: names no user']);
  return users;
}

/** The Confluent registry's answer to a request without valid credentials. */
function unauthorized(res: Response): void {
  res.setHeader('WWW-Authenticate', 'Basic realm="schema-registry", charset="UTF-8"');
  res.status(401).type('application/vnd.schemaregistry.v1+json').send(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
}

/** Express middleware: HTTP basic auth against `users`, compared hash against hash in constant time; `/healthz` and `/readyz` stay open. */
export function basicAuth(users: BasicAuthUsers) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === '/healthz' || req.path === '/readyz') return next();
    const header = req.header('authorization') ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    if (!match) return unauthorized(res);
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return unauthorized(res);
    const expected = users.get(decoded.slice(0, colon));
    const given = sha256(decoded.slice(colon + 1));
    // Compare even for an unknown user, so timing does not tell names apart.
    const ok = timingSafeEqual(expected ?? Buffer.alloc(32), given) && expected !== undefined;
    if (!ok) return unauthorized(res);
    next();
  };
}
