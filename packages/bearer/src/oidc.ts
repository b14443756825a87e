// Any OpenID Connect issuer: discovery at {issuer}/.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §4), `iss` exactly the configured issuer (§3, RFC 9068 §4).
// No Entra tenant or version rules.
import type { JWTPayload } from 'jose';
import { InvalidOptionError, InvalidTokenError } from './errors.ts';
import {
  createVerifier,
  type IssuerRules,
  type TokenVerifier,
  type VerifierOptions,
} from './verifier.ts';

/**
 * The discovery document URL of an issuer.
 *
 * @example
 * ```ts
 * oidcDiscoveryUrl('https://issuer.example/realms/demo/');
 * // 'https://issuer.example/realms/demo/.well-known/openid-configuration'
 * ```
 */
export function oidcDiscoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export interface OidcVerifierOptions extends VerifierOptions {
  /** The issuer identifier (https), exactly as its tokens' `iss` and its discovery document name it. */
  issuer: string;
}

/**
 * A verifier of access tokens (JWT, RS256) of any OpenID Connect issuer. The principal's
 * `objectId` is `oid` when present, else `sub`; `tenantId` is `tid` when present, else the issuer.
 *
 * @example
 * ```ts
 * const verifier = createOidcVerifier({ issuer: 'https://issuer.example', audience: 'my-api' });
 * const principal = await verifier.verify(token);
 * ```
 */
export function createOidcVerifier(options: OidcVerifierOptions): TokenVerifier {
  const issuer = options.issuer;
  if (typeof issuer !== 'string' || !URL.canParse(issuer) || new URL(issuer).protocol !== 'https:')
    throw new InvalidOptionError('issuer', `must be an https URL, got ${String(issuer)}`);
  const rules: IssuerRules = {
    discoveryUrl: oidcDiscoveryUrl(issuer),
    discoveryIssuer: issuer,
    subIsObjectId: true,
    checkIssuer(p: JWTPayload, realm: string): string {
      if (p.iss !== issuer) {
        throw new InvalidTokenError(
          'wrong_issuer',
          'The token was not issued by the expected issuer (iss)',
          { realm },
        );
      }
      return typeof p.tid === 'string' ? p.tid.toLowerCase() : issuer;
    },
  };
  return createVerifier(rules, options);
}
