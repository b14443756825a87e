// Discovery document + JWKS of the issuer, cached. Concurrent callers share one fetch; an
// unknown kid triggers at most one successful refetch per cooldown; after a failed fetch the
// issuer is asked again after a short backoff (1 s, doubling per consecutive failure, at most
// the cooldown), so that keys published during an outage are picked up within seconds of the
// issuer's return; cached keys outlive a refresh failure for a bounded time (stale-if-error),
// after which the keys count as unavailable (503, never 401).
import { importJWK, type JWK } from 'jose';
import { KeysUnavailableError } from './errors.ts';

/** Timings of the key cache. */
export interface JwksTimings {
  /** Age after which the key set is refreshed in the background (default 600). */
  refreshSeconds?: number;
  /** At most one successful key-set fetch per this period for unknown kids (default 30); also the longest failure backoff. */
  cooldownSeconds?: number;
  /** Wait after a failed fetch before the next one, doubling per consecutive failure up to `cooldownSeconds` (default 1). */
  failureBackoffSeconds?: number;
  /** How long past `refreshSeconds` cached keys keep working while the issuer fails (default 21600). */
  staleMaxSeconds?: number;
  /** Timeout of one discovery or JWKS request (default 5000). */
  fetchTimeoutMs?: number;
}

export const DEFAULT_JWKS_TIMINGS: Readonly<Required<JwksTimings>> = Object.freeze({
  refreshSeconds: 600,
  cooldownSeconds: 30,
  failureBackoffSeconds: 1,
  staleMaxSeconds: 21_600,
  fetchTimeoutMs: 5000,
});

/** One HTTP request to the issuer, as reported to `hooks.issuerFetch`. */
export interface IssuerFetchEvent {
  target: 'discovery' | 'jwks';
  ok: boolean;
}

export interface SigningKeysOptions {
  /** URL of the OpenID Connect discovery document. */
  discoveryUrl: string;
  /** The discovery document must name exactly this issuer (protects against mix-ups). */
  expectedIssuer: string;
  timings: Required<JwksTimings>;
  fetch: typeof globalThis.fetch;
  now: () => number;
  onFetch?: (event: IssuerFetchEvent) => void;
  /** Called with the kids that disappeared from the key set. */
  onKeysRetired?: (kids: readonly string[]) => void;
  onRefreshFailed?: (error: Error) => void;
}

/** What the key cache knows, for readiness probes. */
export interface KeyStatus {
  /** Keys are usable now (verification can proceed). */
  ready: boolean;
  keyCount: number;
  /** When the key set was last fetched (ms since the epoch). */
  fetchedAt: number | undefined;
  /** Why the last fetch failed; cleared by a successful one. */
  lastError: string | undefined;
}

type Key = Awaited<ReturnType<typeof importJWK>>;

/**
 * The issuer's signing keys, cached. A verifier creates and owns one; reach it as
 * `verifier.keys` to warm it up or to report readiness.
 *
 * @example
 * ```ts
 * verifier.keys.refresh().catch(() => {}); // warm up without delaying start
 * app.use(async (ctx, next) => {
 *   if (ctx.path !== '/readyz') return next();
 *   ctx.status = (await verifier.keys.ensureKeys()) ? 200 : 503;
 * });
 * ```
 */
export class SigningKeys {
  readonly #o: SigningKeysOptions;
  readonly #refreshMs: number;
  readonly #cooldownMs: number;
  readonly #backoffMs: number;
  readonly #staleMaxMs: number;
  #keys = new Map<string, Key>();
  #fetchedAt: number | undefined;
  #usableUntil = -Infinity;
  #lastFailureAt: number | undefined;
  /** Consecutive failed fetches (0 after a success): the backoff doubles with each. */
  #failures = 0;
  #lastKidRefetchAt: number | undefined;
  #lastError: Error | undefined;
  #jwksUri: string | undefined;
  #inflight: Promise<void> | undefined;

  /** @internal Created by the verifiers. */
  constructor(options: SigningKeysOptions) {
    this.#o = options;
    this.#refreshMs = options.timings.refreshSeconds * 1000;
    this.#cooldownMs = options.timings.cooldownSeconds * 1000;
    this.#backoffMs = options.timings.failureBackoffSeconds * 1000;
    this.#staleMaxMs = options.timings.staleMaxSeconds * 1000;
  }

  /** Until when (ms since the epoch) the cached keys may be used; -Infinity before the first fetch. */
  get usableUntil(): number {
    return this.#usableUntil;
  }

  /**
   * The key for `kid`, or `undefined` when the issuer does not publish it (after at most one
   * successful refetch per cooldown). Throws KeysUnavailableError when no usable keys can be
   * had, or when `kid` is unknown and the issuer could not be asked (it failed just now or is
   * within the failure backoff): the token may well be valid, signed with a key published
   * during the outage, so the answer is "try again", not "invalid token".
   */
  async getKey(kid: string): Promise<Key | undefined> {
    const now = this.#o.now();
    if (now > this.#usableUntil) {
      if (this.#inflight || this.#mayFetch(now)) await this.refresh().catch(() => undefined);
      if (this.#o.now() > this.#usableUntil) {
        throw new KeysUnavailableError(this.#retryAfterMs() / 1000, { cause: this.#lastError });
      }
    } else if (
      this.#fetchedAt !== undefined &&
      now - this.#fetchedAt > this.#refreshMs &&
      this.#mayFetch(now)
    ) {
      // Stale but usable: refresh in the background, answer from the cache now.
      this.refresh().catch(() => undefined);
    }
    const key = this.#keys.get(kid);
    if (key) return key;
    // Unknown kid: maybe the issuer rotated. Refetch at most once per cooldown, shared by all
    // callers; only a fetch that succeeded counts against the cooldown.
    if (this.#inflight) {
      await this.#inflight.catch(() => undefined);
    } else if (
      this.#mayFetch(now) &&
      (this.#lastKidRefetchAt === undefined || now - this.#lastKidRefetchAt >= this.#cooldownMs)
    ) {
      const previous = this.#lastKidRefetchAt;
      this.#lastKidRefetchAt = now;
      await this.refresh().catch(() => {
        this.#lastKidRefetchAt = previous;
      });
    }
    const fetched = this.#keys.get(kid);
    if (fetched === undefined && this.#lastError !== undefined) {
      throw new KeysUnavailableError(this.#retryAfterMs() / 1000, {
        cause: this.#lastError,
        reason: 'unknown_kid_issuer_unreachable',
      });
    }
    return fetched;
  }

  /** Fetches discovery (first time) and the JWKS; concurrent calls share one fetch. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Fetches when no usable keys are cached (and the failure backoff allows); true when keys are usable. */
  async ensureKeys(): Promise<boolean> {
    const now = this.#o.now();
    if (now > this.#usableUntil && (this.#inflight || this.#mayFetch(now))) {
      await this.refresh().catch(() => undefined);
    }
    return this.usable();
  }

  /** Whether cached keys may be used now. */
  usable(): boolean {
    return this.#o.now() <= this.#usableUntil;
  }

  status(): KeyStatus {
    return {
      ready: this.usable(),
      keyCount: this.#keys.size,
      fetchedAt: this.#fetchedAt,
      lastError: this.#lastError?.message,
    };
  }

  /** Whether a fetch may be attempted now (not within the backoff after a failure). */
  #mayFetch(now: number): boolean {
    return (
      this.#lastFailureAt === undefined || now - this.#lastFailureAt >= this.#currentBackoffMs()
    );
  }

  /** 1 s, 2 s, 4 s, ... after consecutive failures, at most the cooldown. */
  #currentBackoffMs(): number {
    return Math.min(this.#backoffMs * 2 ** Math.max(0, this.#failures - 1), this.#cooldownMs);
  }

  #retryAfterMs(): number {
    if (this.#lastFailureAt === undefined) return 1000;
    return Math.max(1000, this.#lastFailureAt + this.#currentBackoffMs() - this.#o.now());
  }

  async #fetch(): Promise<void> {
    try {
      this.#jwksUri ??= await this.#discover();
      const jwks = await this.#getJson(this.#jwksUri, 'jwks');
      const keys = await importKeys(jwks);
      const retired = [...this.#keys.keys()].filter((kid) => !keys.has(kid));
      this.#keys = keys;
      this.#fetchedAt = this.#o.now();
      this.#usableUntil = this.#fetchedAt + this.#refreshMs + this.#staleMaxMs;
      this.#lastFailureAt = undefined;
      this.#failures = 0;
      this.#lastError = undefined;
      if (retired.length > 0) this.#o.onKeysRetired?.(retired);
    } catch (error) {
      // Re-discover next time: the JWKS location may have moved.
      this.#jwksUri = undefined;
      this.#lastFailureAt = this.#o.now();
      this.#failures++;
      const e = error instanceof Error ? error : new Error(String(error));
      this.#lastError = e;
      this.#o.onRefreshFailed?.(e);
      throw e;
    }
  }

  async #discover(): Promise<string> {
    const doc = await this.#getJson(this.#o.discoveryUrl, 'discovery');
    if (typeof doc !== 'object' || doc === null)
      throw new Error('discovery document is not a JSON object');
    const { issuer, jwks_uri: jwksUri } = doc as Record<string, unknown>;
    if (issuer !== this.#o.expectedIssuer) {
      throw new Error(
        `discovery document names issuer ${JSON.stringify(issuer)}, expected ${this.#o.expectedIssuer}`,
      );
    }
    if (
      typeof jwksUri !== 'string' ||
      !URL.canParse(jwksUri) ||
      new URL(jwksUri).protocol !== 'https:'
    ) {
      throw new Error('discovery document has no https jwks_uri');
    }
    return jwksUri;
  }

  async #getJson(url: string, target: 'discovery' | 'jwks'): Promise<unknown> {
    let ok = false;
    try {
      const response = await this.#o.fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#o.timings.fetchTimeoutMs),
      });
      if (!response.ok) throw new Error(`${target} request to ${url} answered ${response.status}`);
      const body = (await response.json()) as unknown;
      ok = true;
      return body;
    } catch (error) {
      if (error instanceof Error && !error.message.includes(url)) {
        throw new Error(`${target} request to ${url} failed: ${error.message}${causeOf(error)}`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      this.#o.onFetch?.({ target, ok });
    }
  }
}

function causeOf(error: Error): string {
  const cause = error.cause;
  return cause instanceof Error ? ` (${cause.message})` : '';
}

/** RSA signature keys with a kid; anything else in the set is ignored. */
async function importKeys(jwks: unknown): Promise<Map<string, Key>> {
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS has no "keys" array');
  const keys = new Map<string, Key>();
  for (const jwk of list as JWK[]) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || !jwk.kid) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'RS256') continue;
    try {
      keys.set(jwk.kid, await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'RS256'));
    } catch {
      // A malformed entry must not take the other keys down with it.
    }
  }
  if (keys.size === 0) throw new Error('JWKS contains no usable RS256 signing key');
  return keys;
}
