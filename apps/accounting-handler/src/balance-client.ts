import type { Logger } from '@waybill/platform';

/** The caller's own credentials, passed on: account-reducer checks the key and the role itself. */
export type Credentials = Partial<Record<'x-api-key' | 'authorization', string>>;

/** An answer of account-reducer's balance API, as it came. */
export interface ForwardedAnswer {
  status: number;
  body: unknown;
  etag?: string;
}

/** The balance a Recorded answer carries once account-reducer reflects it. */
export interface BalanceAfter {
  balanceMinor: number;
  currency: string;
  version: number;
}

/** account-reducer did not answer (down, restarting, or too slow): the caller may retry. */
export class BalancesUnavailable extends Error {}

/**
 * account-reducer's balance API, the one owner of balances. This app keeps none: it passes reads
 * on with the caller's credentials, and asks for the balance a booking it answered produced.
 */
export class BalanceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly logger: Logger,
  ) {}

  /** Passes a GET on (its path and query as they came); throws BalancesUnavailable when nobody answers in `timeoutMs`. */
  async forward(pathAndQuery: string, credentials: Credentials, timeoutMs: number): Promise<ForwardedAnswer> {
    // Only the path and query go on: a request line in absolute form ("GET http://elsewhere/…")
    // must not choose where this app sends the caller's key.
    const { pathname, search } = new URL(pathAndQuery, 'http://path.only');
    let res: Response;
    try {
      res = await fetch(new URL(pathname + search, this.baseUrl), { headers: { accept: 'application/json', ...credentials }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      this.logger.warn({ err, baseUrl: this.baseUrl }, 'account-reducer did not answer a balance read');
      throw new BalancesUnavailable(`account-reducer did not answer within ${timeoutMs} ms`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw new BalancesUnavailable(`account-reducer answered ${res.status} with a body that is not JSON`);
    }
    const etag = res.headers.get('etag');
    return { status: res.status, body, ...(etag ? { etag } : {}) };
  }

  /** The balance once it includes `version` (waiting at most `timeoutMs`), or undefined. */
  async balanceAt(accountId: string, version: number, credentials: Credentials, timeoutMs: number): Promise<BalanceAfter | undefined> {
    if (timeoutMs <= 0) return undefined;
    const path = `/accounts/${encodeURIComponent(accountId)}?readToken=${encodeURIComponent(`${accountId}@${version}`)}`;
    const answer = await this.forward(path, credentials, timeoutMs).catch(() => undefined);
    if (answer?.status !== 200) return undefined;
    const { balanceMinor, currency, version: reflected } = answer.body as BalanceAfter;
    return { balanceMinor, currency, version: reflected };
  }
}
