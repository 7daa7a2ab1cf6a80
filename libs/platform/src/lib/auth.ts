import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from './errors';

export const ROLES = ['viewer', 'associate', 'team-lead', 'supervisor', 'finance', 'integration'] as const;
export type Role = (typeof ROLES)[number];

/** Who a request acts as. `id` becomes `initiatedBy` on everything the request causes. */
export interface Principal {
  id: string;
  role: Role;
}

interface StoredKey {
  principal: Principal;
  hash: Buffer;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Parses `principal:role:sha256hex,…`. Keys are configured as hashes so a leaked environment
 * does not leak credentials.
 */
export function parseApiKeys(spec: string): StoredKey[] {
  const problems: string[] = [];
  const keys = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .flatMap((entry, index) => {
      const [id, role, hash] = entry.split(':');
      if (!id || !role || !hash) return problems.push(`API_KEYS entry ${index + 1}: expected principal:role:sha256hex`), [];
      if (!(ROLES as readonly string[]).includes(role)) return problems.push(`API_KEYS entry ${index + 1}: unknown role "${role}" (one of ${ROLES.join(', ')})`), [];
      if (!/^[0-9a-f]{64}$/i.test(hash)) return problems.push(`API_KEYS entry ${index + 1}: hash must be 64 hex characters`), [];
      return [{ principal: { id, role: role as Role }, hash: Buffer.from(hash, 'hex') }];
    });
  if (problems.length) throw new ConfigError(problems);
  return keys;
}

/** Finds the key's principal, comparing against every stored hash in constant time. */
export function authenticate(keys: readonly StoredKey[], presented: string | undefined): Principal | undefined {
  if (!presented) return undefined;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: Principal | undefined;
  // NOTE: no early exit, so the time taken does not reveal which entry (if any) matched.
  for (const key of keys) {
    if (timingSafeEqual(digest, key.hash) && !found) found = key.principal;
  }
  return found;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

function presentedKey(req: Request): string | undefined {
  const header = req.header('x-api-key');
  if (header) return header;
  const authorization = req.header('authorization');
  return authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
}

/**
 * Sets `req.principal` when the request presents a valid key and never refuses: it runs before
 * the rate limiter, so a request is counted against its principal (or, without a valid key, its
 * client address). `apiKeyAuth` does the refusing.
 */
export function identifyApiKey(keys: readonly StoredKey[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const principal = authenticate(keys, presentedKey(req));
    if (principal) req.principal = principal;
    next();
  };
}

/** 401 for a missing or unknown key, otherwise `req.principal` is set. */
export function apiKeyAuth(keys: readonly StoredKey[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    // Already identified (identifyApiKey, from the same headers): no second hash.
    const principal = req.principal ?? authenticate(keys, presentedKey(req));
    if (!principal) {
      res.status(401).json({ error: 'UNAUTHENTICATED', message: 'a valid API key is required (X-API-Key header)' });
      return;
    }
    req.principal = principal;
    next();
  };
}

/**
 * The principal `apiKeyAuth` set, for handlers mounted behind it. Throws (a wiring bug, answered
 * 500, never a client's fault) when the route was mounted without authentication.
 */
export function principalOf(req: Pick<Request, 'principal'>): Principal {
  if (!req.principal) throw new Error('route mounted without authentication');
  return req.principal;
}

/** 403 unless the authenticated principal holds one of `roles`. */
export function requireRole(...roles: Role[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const role = req.principal?.role;
    if (!role || !roles.includes(role)) {
      res.status(403).json({ error: 'FORBIDDEN', message: `this needs one of the roles: ${roles.join(', ')}` });
      return;
    }
    next();
  };
}
