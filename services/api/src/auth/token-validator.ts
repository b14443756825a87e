// verify(token) -> principal | InvalidTokenError | KeysUnavailableError. The signature is
// verified (jose, RS256 only) before any claim is looked at; the header is only read to pick
// the key.
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { InvalidTokenError } from './errors.ts';
import type { Principal } from './permissions.ts';
import type { SigningKeys } from './signing-keys.ts';
import { VerifiedTokenCache } from './token-cache.ts';

export type IssuerRules =
  | {
      /** Microsoft Entra ID: tid, ver and the tenant's issuer are checked. */
      kind: 'entra';
      authority: string;
      tenantId: string;
      allowedTenants: string[];
      acceptedVersions: ('1.0' | '2.0')[];
    }
  | { kind: 'oidc'; issuer: string };

export interface TokenValidatorOptions {
  keys: SigningKeys;
  issuer: IssuerRules;
  /** Accepted `aud` values. */
  audiences: string[];
  clockToleranceSeconds: number;
  cacheMaxEntries: number;
  now?: () => number;
  onCacheHit?: () => void;
}

/** Tokens longer than this are rejected before decoding (Entra access tokens are ~1.5-4 KB; group overage keeps them well below). */
export const MAX_TOKEN_LENGTH = 12 * 1024;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TokenValidator {
  readonly #o: TokenValidatorOptions;
  readonly #now: () => number;
  readonly #cache: VerifiedTokenCache<Principal>;
  readonly #tenants: Set<string>;
  /** Counts clearCache() calls: a verification that overlapped one must not fill the cache. */
  #epoch = 0;

  constructor(options: TokenValidatorOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new VerifiedTokenCache(options.cacheMaxEntries, options.clockToleranceSeconds);
    this.#tenants = new Set(
      options.issuer.kind === 'entra'
        ? [options.issuer.tenantId, ...options.issuer.allowedTenants].map((t) => t.toLowerCase())
        : [],
    );
  }

  /** Forget every verified token (called when the issuer retires keys). */
  clearCache(): void {
    this.#epoch++;
    this.#cache.clear();
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new InvalidTokenError(
        'too_large',
        `The token is longer than ${MAX_TOKEN_LENGTH} characters`,
      );
    }
    // A cached token passed every check below already; it counts only while its keys would
    // (past the stale bound of an issuer outage the full path answers 503).
    const cached = this.#cache.get(token, this.#now());
    if (cached && this.#o.keys.usable()) {
      this.#o.onCacheHit?.();
      return cached;
    }
    if (!JWS_COMPACT.test(token)) {
      throw new InvalidTokenError(
        'malformed',
        'The token is not a JWS compact serialization (header.payload.signature)',
      );
    }

    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError(
        'malformed',
        'The token header is not valid base64url-encoded JSON',
      );
    }
    if (header.alg !== 'RS256') {
      const alg =
        String(header.alg)
          .replace(/[^A-Za-z0-9+._-]/g, '')
          .slice(0, 20) || 'missing';
      throw new InvalidTokenError(
        'unsupported_alg',
        `The token algorithm ${alg} is not accepted; only RS256 is`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid.length === 0) {
      throw new InvalidTokenError('missing_kid', 'The token header has no key id (kid)');
    }
    const epoch = this.#epoch;
    const key = await this.#o.keys.getKey(header.kid);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['RS256'],
        clockTolerance: this.#o.clockToleranceSeconds,
        requiredClaims: ['exp'],
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      throw fromJose(error);
    }

    const principal = this.#checkClaims(payload);
    // Keys retired meanwhile: the key used may be one of them, so accept once but do not cache.
    if (epoch === this.#epoch)
      this.#cache.set(token, principal, payload.exp as number, payload.nbf);
    return principal;
  }

  #checkClaims(p: JWTPayload): Principal {
    // An ID token proves a sign-in to a client; it grants nothing at an API.
    if ('nonce' in p || 'at_hash' in p || 'c_hash' in p) {
      throw new InvalidTokenError(
        'id_token',
        'ID tokens are not accepted; send an access token for this API',
      );
    }
    const rules = this.#o.issuer;
    let tenantId: string;
    if (rules.kind === 'entra') {
      const ver = p.ver;
      if (ver !== '1.0' && ver !== '2.0') {
        throw new InvalidTokenError(
          'unsupported_version',
          'The token has no supported version (ver)',
        );
      }
      if (!rules.acceptedVersions.includes(ver)) {
        throw new InvalidTokenError(
          'unsupported_version',
          `Version ${ver} tokens are not accepted`,
        );
      }
      if (typeof p.tid !== 'string' || !GUID.test(p.tid)) {
        throw new InvalidTokenError('invalid_claims', 'The token has no tenant id (tid)');
      }
      tenantId = p.tid.toLowerCase();
      if (!this.#tenants.has(tenantId)) {
        throw new InvalidTokenError(
          'wrong_tenant',
          'The token was issued for a tenant this API does not accept (tid)',
        );
      }
      const expected =
        ver === '2.0' ? `${rules.authority}/${p.tid}/v2.0` : `https://sts.windows.net/${p.tid}/`;
      if (p.iss !== expected) {
        throw new InvalidTokenError(
          'wrong_issuer',
          'The token was not issued by the expected issuer (iss)',
        );
      }
    } else {
      if (p.iss !== rules.issuer) {
        throw new InvalidTokenError(
          'wrong_issuer',
          'The token was not issued by the expected issuer (iss)',
        );
      }
      tenantId = typeof p.tid === 'string' ? p.tid.toLowerCase() : rules.issuer;
    }

    const aud = p.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.some((a) => typeof a === 'string' && this.#o.audiences.includes(a))) {
      throw new InvalidTokenError('wrong_audience', 'The token is not meant for this API (aud)');
    }

    const { scp, roles, idtyp } = p as { scp?: unknown; roles?: unknown; idtyp?: unknown };
    if (scp !== undefined && typeof scp !== 'string') {
      throw new InvalidTokenError('invalid_claims', 'The token scopes (scp) are not a string');
    }
    if (
      roles !== undefined &&
      !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))
    ) {
      throw new InvalidTokenError('invalid_claims', 'The token roles are not a list of strings');
    }
    if (idtyp !== undefined && idtyp !== 'app' && idtyp !== 'user') {
      throw new InvalidTokenError(
        'invalid_claims',
        'The token type (idtyp) is neither user nor app',
      );
    }
    const kind: Principal['kind'] =
      idtyp === 'user' || (idtyp === undefined && scp !== undefined) ? 'user' : 'app';
    if (kind === 'app' && scp !== undefined) {
      throw new InvalidTokenError(
        'invalid_claims',
        'An app-only token (idtyp app) must not carry delegated scopes (scp)',
      );
    }
    const objectId =
      typeof p.oid === 'string' && p.oid
        ? p.oid
        : rules.kind === 'oidc' && typeof p.sub === 'string'
          ? p.sub
          : undefined;
    if (!objectId) {
      throw new InvalidTokenError('invalid_claims', 'The token has no object id (oid)');
    }
    const clientId =
      typeof p.azp === 'string' ? p.azp : typeof p.appid === 'string' ? p.appid : undefined;
    const permissions =
      kind === 'user'
        ? ((scp as string | undefined) ?? '').split(' ').filter(Boolean)
        : ((roles as string[] | undefined) ?? []);
    return Object.freeze({
      kind,
      tenantId,
      objectId,
      clientId,
      permissions: Object.freeze([...permissions]) as string[],
    });
  }
}

function fromJose(error: unknown): InvalidTokenError {
  if (error instanceof errors.JWTExpired)
    return new InvalidTokenError('expired', 'The token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp')
      return new InvalidTokenError('missing_exp', 'The token has no valid expiry (exp)');
    if (error.claim === 'nbf')
      return new InvalidTokenError('not_yet_valid', 'The token is not valid yet (nbf)');
    return new InvalidTokenError('invalid_claims', `The token claim ${error.claim} is invalid`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidTokenError('bad_signature', 'The token signature is invalid');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new InvalidTokenError(
      'unsupported_alg',
      'The token algorithm is not accepted; only RS256 is',
    );
  }
  return new InvalidTokenError('malformed', 'The token could not be decoded');
}
