// Discovery document + JWKS of the issuer, cached. Concurrent callers share one fetch; an
// unknown kid triggers at most one refetch per cooldown; after a failed fetch the issuer is
// not asked again before the cooldown; cached keys outlive a refresh failure for a bounded
// time (stale-if-error), after which the keys count as unavailable.
import { importJWK, type JWK } from 'jose';
import { InvalidTokenError, KeysUnavailableError } from './errors.ts';

export interface SigningKeysOptions {
  /** URL of the OpenID Connect discovery document. */
  discoveryUrl: string;
  /** The discovery document must name exactly this issuer (protects against mix-ups). */
  expectedIssuer: string;
  refreshMs: number;
  cooldownMs: number;
  staleMaxMs: number;
  fetchTimeoutMs: number;
  /** Called once per HTTP request to the issuer. */
  onFetch?: (target: 'discovery' | 'jwks', ok: boolean) => void;
  /** Called with the kids that disappeared from the key set. */
  onKeysRetired?: (kids: string[]) => void;
  onError?: (error: Error) => void;
  now?: () => number;
}

export interface KeyStatus {
  ready: boolean;
  keyCount: number;
  fetchedAt: number | undefined;
  lastError: string | undefined;
}

type Key = Awaited<ReturnType<typeof importJWK>>;

export class SigningKeys {
  readonly #o: Required<Omit<SigningKeysOptions, 'onFetch' | 'onKeysRetired' | 'onError'>> &
    Pick<SigningKeysOptions, 'onFetch' | 'onKeysRetired' | 'onError'>;
  #keys = new Map<string, Key>();
  #fetchedAt: number | undefined;
  #lastFailureAt: number | undefined;
  #lastKidRefetchAt: number | undefined;
  #lastError: string | undefined;
  #jwksUri: string | undefined;
  #inflight: Promise<void> | undefined;

  constructor(options: SigningKeysOptions) {
    this.#o = { now: Date.now, ...options };
  }

  /** The key for `kid`; InvalidTokenError when the issuer does not publish it, KeysUnavailableError when no keys can be had. */
  async getKey(kid: string): Promise<Key> {
    const now = this.#o.now();
    if (!this.#usable(now)) {
      if (this.#inflight || this.#mayFetch(now)) await this.refresh().catch(() => undefined);
      if (!this.#usable(this.#o.now())) {
        throw new KeysUnavailableError(
          'The signing keys of the token issuer are unavailable',
          this.#retryAfterMs() / 1000,
        );
      }
    } else if (
      this.#fetchedAt !== undefined &&
      now - this.#fetchedAt > this.#o.refreshMs &&
      this.#mayFetch(now)
    ) {
      // Stale but usable: refresh in the background, answer from the cache now.
      this.refresh().catch(() => undefined);
    }
    const key = this.#keys.get(kid);
    if (key) return key;
    // Unknown kid: maybe the issuer rotated. Refetch at most once per cooldown, shared by all callers.
    if (this.#inflight) {
      await this.#inflight.catch(() => undefined);
    } else if (
      this.#mayFetch(now) &&
      (this.#lastKidRefetchAt === undefined || now - this.#lastKidRefetchAt >= this.#o.cooldownMs)
    ) {
      this.#lastKidRefetchAt = now;
      await this.refresh().catch(() => undefined);
    }
    const refreshed = this.#keys.get(kid);
    if (refreshed) return refreshed;
    throw new InvalidTokenError(
      'unknown_kid',
      'The token is signed with a key the issuer does not publish',
    );
  }

  /** Fetches discovery (first time) and the JWKS; concurrent calls share one fetch. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Fetches when no usable keys are cached (and the failure cooldown allows); true when keys are usable. */
  async ensureKeys(): Promise<boolean> {
    if (!this.#usable(this.#o.now()) && (this.#inflight || this.#mayFetch(this.#o.now()))) {
      await this.refresh().catch(() => undefined);
    }
    return this.#usable(this.#o.now());
  }

  /** Whether cached keys may be used now (cheap: called on every request). */
  usable(): boolean {
    return this.#usable(this.#o.now());
  }

  status(): KeyStatus {
    return {
      ready: this.#usable(this.#o.now()),
      keyCount: this.#keys.size,
      fetchedAt: this.#fetchedAt,
      lastError: this.#lastError,
    };
  }

  /** Whether a fetch may be attempted now (not within the cooldown after a failure). */
  #mayFetch(now: number): boolean {
    return this.#lastFailureAt === undefined || now - this.#lastFailureAt >= this.#o.cooldownMs;
  }

  #usable(now: number): boolean {
    return (
      this.#keys.size > 0 &&
      this.#fetchedAt !== undefined &&
      now - this.#fetchedAt <= this.#o.refreshMs + this.#o.staleMaxMs
    );
  }

  #retryAfterMs(): number {
    if (this.#lastFailureAt === undefined) return 1000;
    return Math.max(1000, this.#lastFailureAt + this.#o.cooldownMs - this.#o.now());
  }

  async #fetch(): Promise<void> {
    try {
      this.#jwksUri ??= await this.#discover();
      const jwks = await this.#getJson(this.#jwksUri, 'jwks');
      const keys = await importKeys(jwks);
      const retired = [...this.#keys.keys()].filter((kid) => !keys.has(kid));
      this.#keys = keys;
      this.#fetchedAt = this.#o.now();
      this.#lastFailureAt = undefined;
      this.#lastError = undefined;
      if (retired.length > 0) this.#o.onKeysRetired?.(retired);
    } catch (error) {
      // Re-discover next time: the JWKS location may have moved.
      this.#jwksUri = undefined;
      this.#lastFailureAt = this.#o.now();
      const e = error instanceof Error ? error : new Error(String(error));
      this.#lastError = e.message;
      this.#o.onError?.(e);
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
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#o.fetchTimeoutMs),
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
      this.#o.onFetch?.(target, ok);
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
