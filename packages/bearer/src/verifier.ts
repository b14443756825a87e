// verify(token) -> Principal | InvalidTokenError | KeysUnavailableError, for any issuer whose
// rules (discovery URL, iss/tid/ver) are given as IssuerRules. The signature is verified
// (jose, RS256 only) before any claim is looked at; the header is only read to pick the key.
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import {
  DEFAULT_REALM,
  InvalidOptionError,
  InvalidTokenError,
  KeysUnavailableError,
  type TokenRejectionReason,
} from './errors.ts';
import { buildPrincipal, type Principal } from './principal.ts';
import {
  DEFAULT_JWKS_TIMINGS,
  SigningKeys,
  type IssuerFetchEvent,
  type JwksTimings,
} from './signing-keys.ts';
import { VerifiedTokenCache } from './token-cache.ts';

/**
 * Default longest accepted token (characters; base64url, so bytes too), refused before decoding.
 * Sized for what Entra issues: a user in 200 groups (the most a JWT carries before the overage
 * claim replaces them) with 5 app roles and 5 directory roles gets a 12,138-character v2.0 token
 * (12,234 v1.0) before Entra's optional and extra claims (names, email, acrs, xms_*), which add
 * up to about 1-2 KB; 16 KiB leaves that headroom. The HTTP layer must accept the header:
 * Node's default maxHeaderSize is 16 KiB for all headers together, so a server taking tokens of
 * this size needs a larger one (the API uses the token limit + 16 KiB).
 */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Callbacks for metrics and logs. They run synchronously inside verification: keep them cheap
 * (`cacheHit` runs on nearly every request) and do not throw.
 */
export interface VerifierHooks {
  /** A token was accepted from the verified-token cache (no signature check). */
  cacheHit?(): void;
  /** A token was refused; `error.reason` is a stable label. */
  tokenRejected?(error: InvalidTokenError): void;
  /** verify() failed because no signing keys are usable (503). */
  keysUnavailable?(error: KeysUnavailableError): void;
  /** One HTTP request to the issuer (discovery document or JWKS) ended. */
  issuerFetch?(event: IssuerFetchEvent): void;
  /** A refresh of the key set failed (the message names the URL and why). */
  keysRefreshFailed?(error: Error): void;
  /** The issuer stopped publishing these key ids; the verified-token cache was emptied. */
  keysRetired?(kids: readonly string[]): void;
}

/** Options every verifier takes. */
export interface VerifierOptions {
  /** Accepted `aud` values (Entra: the API's client id and/or its App ID URI `api://…`). */
  audience: string | readonly string[];
  /** Leeway for `exp` and `nbf`, in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Size of the verified-token cache; 0 turns it off (default 10000). */
  cacheMaxEntries?: number;
  /** Longest accepted token in characters (default {@link MAX_TOKEN_LENGTH}, 16384); longer ones are refused (`too_large`) before decoding. */
  maxTokenLength?: number;
  /** Key cache timings. */
  jwks?: JwksTimings;
  /** `realm` of the WWW-Authenticate challenges (default `"api"`). */
  realm?: string;
  hooks?: VerifierHooks;
  /** The fetch used for discovery and JWKS (default the global one), e.g. to use a proxy. */
  fetch?: typeof globalThis.fetch;
  /** Clock in ms since the epoch (default Date.now), for tests. */
  now?: () => number;
}

/**
 * Verifies access tokens of one issuer. Create it with createEntraVerifier or
 * createOidcVerifier, once per process: it holds the key cache and the verified-token cache.
 *
 * @example
 * ```ts
 * const verifier = createEntraVerifier({ tenantId, audience: [clientId, `api://${clientId}`] });
 * const principal = await verifier.verify(token); // or throws a BearerError
 * ```
 */
export interface TokenVerifier {
  /** The principal of a valid token; throws InvalidTokenError (401) or KeysUnavailableError (503). */
  verify(token: string): Promise<Principal>;
  /**
   * The principal of a token that verify() accepted before and that is still valid, at once
   * (no promise); undefined when verify() must decide. A framework adapter calls this first so
   * that the usual request, a token seen before, costs no asynchronous step.
   */
  verifiedBefore(token: string): Principal | undefined;
  /** The `realm` of this verifier's challenges. */
  readonly realm: string;
  /** What the discovery document must name as `issuer` (Entra: the home tenant's v2.0 issuer). */
  readonly issuer: string;
  readonly discoveryUrl: string;
  /** The key cache: warm it up (`refresh()`), report readiness (`ensureKeys()`, `status()`). */
  readonly keys: SigningKeys;
  /** Forgets every verified token (done by itself when the issuer retires keys). */
  clearCache(): void;
  readonly cacheSize: number;
}

/** @internal The rules that differ per issuer (entra.ts, oidc.ts). */
export interface IssuerRules {
  discoveryUrl: string;
  /** The discovery document's `issuer` must be exactly this. */
  discoveryIssuer: string;
  /** Checks `iss` (and tid, ver, ...) of a verified payload; returns the tenant id. */
  checkIssuer(payload: JWTPayload, realm: string): string;
  /** Whether `sub` may stand in for a missing `oid`. */
  subIsObjectId: boolean;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

class Verifier implements TokenVerifier {
  readonly realm: string;
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly keys: SigningKeys;
  readonly #rules: IssuerRules;
  readonly #audiences: ReadonlySet<string>;
  readonly #toleranceSeconds: number;
  readonly #maxTokenLength: number;
  readonly #cache: VerifiedTokenCache<Principal>;
  readonly #hooks: VerifierHooks;
  readonly #now: () => number;

  constructor(rules: IssuerRules, o: VerifierOptions) {
    this.realm = o.realm ?? DEFAULT_REALM;
    this.issuer = rules.discoveryIssuer;
    this.discoveryUrl = rules.discoveryUrl;
    this.#rules = rules;
    this.#audiences = new Set(typeof o.audience === 'string' ? [o.audience] : o.audience);
    this.#toleranceSeconds = o.clockToleranceSeconds ?? 30;
    this.#maxTokenLength = o.maxTokenLength ?? MAX_TOKEN_LENGTH;
    this.#cache = new VerifiedTokenCache(o.cacheMaxEntries ?? 10_000, this.#toleranceSeconds);
    this.#hooks = o.hooks ?? {};
    this.#now = o.now ?? Date.now;
    const hooks = this.#hooks;
    this.keys = new SigningKeys({
      discoveryUrl: rules.discoveryUrl,
      expectedIssuer: rules.discoveryIssuer,
      timings: { ...DEFAULT_JWKS_TIMINGS, ...o.jwks },
      fetch: o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      now: this.#now,
      onFetch: (event) => hooks.issuerFetch?.(event),
      onRefreshFailed: (error) => hooks.keysRefreshFailed?.(error),
      onKeysRetired: (kids) => {
        // A retired key may have signed cached tokens: they must be verified again.
        this.clearCache();
        hooks.keysRetired?.(kids);
      },
    });
  }

  clearCache(): void {
    this.#cache.clear();
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  verifiedBefore(token: string): Principal | undefined {
    if (typeof token !== 'string' || token.length > this.#maxTokenLength) return undefined;
    // A cached token passed every check of #verifyFully already; it counts only while its keys
    // would (past the stale bound of an issuer outage the full path answers 503).
    const now = this.#now();
    const cached = this.#cache.get(token, now);
    if (cached === undefined || now > this.keys.usableUntil) return undefined;
    this.#hooks.cacheHit?.();
    return cached;
  }

  async verify(token: string): Promise<Principal> {
    try {
      if (typeof token !== 'string') throw this.#reject('malformed', 'The token is not a string');
      if (token.length > this.#maxTokenLength) {
        throw this.#reject(
          'too_large',
          `The token is longer than ${this.#maxTokenLength} characters`,
        );
      }
      const cached = this.verifiedBefore(token);
      if (cached !== undefined) return cached;
      return await this.#verifyFully(token, this.#now());
    } catch (error) {
      if (error instanceof InvalidTokenError) this.#hooks.tokenRejected?.(error);
      else if (error instanceof KeysUnavailableError) this.#hooks.keysUnavailable?.(error);
      throw error;
    }
  }

  async #verifyFully(token: string, now: number): Promise<Principal> {
    if (!JWS_COMPACT.test(token)) {
      throw this.#reject(
        'malformed',
        'The token is not a JWS compact serialization (header.payload.signature)',
      );
    }
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw this.#reject('malformed', 'The token header is not valid base64url-encoded JSON');
    }
    if (header.alg !== 'RS256') {
      const alg =
        String(header.alg)
          .replace(/[^A-Za-z0-9+._-]/g, '')
          .slice(0, 20) || 'missing';
      throw this.#reject(
        'unsupported_alg',
        `The token algorithm ${alg} is not accepted; only RS256 is`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid.length === 0) {
      throw this.#reject('missing_kid', 'The token header has no key id (kid)');
    }
    const epoch = this.#cache.epoch;
    const key = await this.keys.getKey(header.kid);
    if (key === undefined) {
      throw this.#reject(
        'unknown_kid',
        'The token is signed with a key the issuer does not publish',
      );
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['RS256'],
        clockTolerance: this.#toleranceSeconds,
        requiredClaims: ['exp'],
        currentDate: new Date(now),
      }));
    } catch (error) {
      throw this.#fromJose(error);
    }

    // An ID token proves a sign-in to a client; it grants nothing at an API.
    if ('nonce' in payload || 'at_hash' in payload || 'c_hash' in payload) {
      throw this.#reject(
        'id_token',
        'ID tokens are not accepted; send an access token for this API',
      );
    }
    const tenantId = this.#rules.checkIssuer(payload, this.realm);
    const principal = buildPrincipal(payload, this.#audiences, {
      tenantId,
      subIsObjectId: this.#rules.subIsObjectId,
      realm: this.realm,
    });
    // Keys retired meanwhile (epoch moved): the key used may be one of them, so accept once
    // but do not cache.
    this.#cache.set(token, principal, payload.exp as number, payload.nbf, epoch);
    return principal;
  }

  #reject(reason: TokenRejectionReason, message: string): InvalidTokenError {
    return new InvalidTokenError(reason, message, { realm: this.realm });
  }

  // jose's error is not kept as `cause`: a claim error carries the token's payload (names, UPN),
  // which a logger serialising causes would write out.
  #fromJose(error: unknown): InvalidTokenError {
    if (error instanceof errors.JWTExpired) return this.#reject('expired', 'The token expired');
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === 'exp')
        return this.#reject('missing_exp', 'The token has no valid expiry (exp)');
      if (error.claim === 'nbf')
        return this.#reject('not_yet_valid', 'The token is not valid yet (nbf)');
      return this.#reject('invalid_claims', `The token claim ${error.claim} is invalid`);
    }
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return this.#reject('bad_signature', 'The token signature is invalid');
    if (error instanceof errors.JOSEAlgNotAllowed)
      return this.#reject('unsupported_alg', 'The token algorithm is not accepted; only RS256 is');
    return this.#reject('malformed', 'The token could not be decoded');
  }
}

/** @internal Validates the options every verifier shares and builds the verifier. */
export function createVerifier(rules: IssuerRules, options: VerifierOptions): TokenVerifier {
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audiences) || audiences.length === 0)
    throw new InvalidOptionError('audience', 'is required (a string or a non-empty list)');
  for (const a of audiences) {
    if (typeof a !== 'string' || a.trim() === '')
      throw new InvalidOptionError('audience', 'must contain non-empty strings only');
  }
  nonNegative('clockToleranceSeconds', options.clockToleranceSeconds);
  nonNegative('cacheMaxEntries', options.cacheMaxEntries, true);
  nonNegative('maxTokenLength', options.maxTokenLength, true);
  if (options.maxTokenLength !== undefined && options.maxTokenLength < 1024)
    throw new InvalidOptionError('maxTokenLength', 'must be at least 1024 characters');
  const jwks = options.jwks ?? {};
  for (const [name, value] of Object.entries(jwks))
    nonNegative(`jwks.${name}`, value as number | undefined);
  if (jwks.refreshSeconds === 0) throw new InvalidOptionError('jwks.refreshSeconds', 'must be > 0');
  if (jwks.fetchTimeoutMs === 0) throw new InvalidOptionError('jwks.fetchTimeoutMs', 'must be > 0');
  if (options.realm !== undefined && !/^[\x21\x23-\x5b\x5d-\x7e ]+$/.test(options.realm))
    throw new InvalidOptionError('realm', 'must be printable ASCII without " or \\');
  return new Verifier(rules, options);
}

function nonNegative(name: string, value: number | undefined, integer = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidOptionError(name, `must be a number >= 0, got ${String(value)}`);
  if (integer && !Number.isInteger(value))
    throw new InvalidOptionError(name, `must be a whole number, got ${String(value)}`);
}
