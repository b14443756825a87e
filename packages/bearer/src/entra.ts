// Microsoft Entra ID's URL and issuer rules, in this one module: where discovery is, which
// `iss` each token version carries, which tenants and versions are accepted.
// Sources: https://learn.microsoft.com/entra/identity-platform/access-tokens (iss per version,
// tid, ver, idtyp, validation) and .../v2-protocols-oidc (discovery at
// {authority}/{tenant}/v2.0/.well-known/openid-configuration, issuer {authority}/{tid}/v2.0).
import type { JWTPayload } from 'jose';
import { InvalidOptionError, InvalidTokenError } from './errors.ts';
import {
  createVerifier,
  type IssuerRules,
  type TokenVerifier,
  type VerifierOptions,
} from './verifier.ts';

/** The public cloud's sign-in host. */
export const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';

export type EntraTokenVersion = '1.0' | '2.0';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The v2.0 endpoint's issuer of a tenant's tokens (and of its discovery document). */
const v2Issuer = (authority: string, tid: string) => `${authority}/${tid}/v2.0`;

/**
 * The issuer of v1.0 access tokens. The public cloud's is used for every authority today;
 * national clouds (login.chinacloudapi.cn -> sts.chinacloudapi.cn, ...) map their own here.
 */
const v1Issuer = (_authority: string, tid: string) => `https://sts.windows.net/${tid}/`;

/** Entra's endpoints of one tenant, as {@link entraEndpoints} returns them. */
export interface EntraEndpoints {
  /** `iss` of v2.0 tokens, and the discovery document's `issuer`. */
  issuer: string;
  /** `iss` of v1.0 tokens. */
  v1Issuer: string;
  discoveryUrl: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

/**
 * The endpoints of a tenant (for API documentation, clients, or configuration checks).
 *
 * @example
 * ```ts
 * entraEndpoints({ tenantId: '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e' }).authorizationEndpoint;
 * // 'https://login.microsoftonline.com/3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e/oauth2/v2.0/authorize'
 * ```
 */
export function entraEndpoints(options: { authority?: string; tenantId: string }): EntraEndpoints {
  const authority = normaliseAuthority(options.authority);
  const tenantId = options.tenantId;
  return {
    issuer: v2Issuer(authority, tenantId),
    v1Issuer: v1Issuer(authority, tenantId),
    discoveryUrl: `${authority}/${tenantId}/v2.0/.well-known/openid-configuration`,
    authorizationEndpoint: `${authority}/${tenantId}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${authority}/${tenantId}/oauth2/v2.0/token`,
  };
}

export interface EntraVerifierOptions extends VerifierOptions {
  /** https base URL of Entra (default `https://login.microsoftonline.com`; the fake issuer's URL offline). */
  authority?: string;
  /** The API's home tenant (GUID): keys are discovered there and its tokens accepted. */
  tenantId?: string;
  /** More tenants (GUIDs) whose tokens are accepted (multi-tenant API). */
  allowedTenants?: readonly string[];
  /** Accepted token versions (`ver`; default `['2.0']`). The API's manifest decides what Entra issues. */
  acceptedVersions?: readonly EntraTokenVersion[];
}

/**
 * A verifier of Microsoft Entra ID access tokens: RS256 signature against the tenant's
 * published keys, `exp`/`nbf`, `aud`, `ver`, `tid` in the accepted tenants, `iss` exactly the
 * tenant's issuer for the token's version, no ID tokens, consistent `scp`/`roles`/`idtyp`.
 *
 * @example
 * ```ts
 * const verifier = createEntraVerifier({
 *   tenantId: process.env.TENANT_ID,
 *   audience: [process.env.API_CLIENT_ID, `api://${process.env.API_CLIENT_ID}`],
 * });
 * const principal = await verifier.verify(token);
 * ```
 */
export function createEntraVerifier(options: EntraVerifierOptions): TokenVerifier {
  const authority = normaliseAuthority(options.authority);
  const allowed = options.allowedTenants ?? [];
  if (!Array.isArray(allowed))
    throw new InvalidOptionError('allowedTenants', 'must be a list of tenant GUIDs');
  for (const [name, tenant] of [
    ['tenantId', options.tenantId],
    ...allowed.map((t) => ['allowedTenants', t]),
  ] as [string, unknown][]) {
    if (tenant !== undefined && (typeof tenant !== 'string' || !GUID.test(tenant)))
      throw new InvalidOptionError(name, `must be a tenant GUID, got ${JSON.stringify(tenant)}`);
  }
  const home = (options.tenantId ?? allowed[0])?.toLowerCase();
  if (home === undefined)
    throw new InvalidOptionError('tenantId', 'is required (or give allowedTenants)');
  const tenants = new Set([home, ...allowed.map((t) => t.toLowerCase())]);

  const versions = new Set(options.acceptedVersions ?? ['2.0']);
  if (versions.size === 0 || [...versions].some((v) => v !== '1.0' && v !== '2.0'))
    throw new InvalidOptionError('acceptedVersions', 'must list "1.0" and/or "2.0"');

  const endpoints = entraEndpoints({ authority, tenantId: home });
  const rules: IssuerRules = {
    discoveryUrl: endpoints.discoveryUrl,
    discoveryIssuer: endpoints.issuer,
    subIsObjectId: false,
    checkIssuer(p: JWTPayload, realm: string): string {
      const reject = (reason: ConstructorParameters<typeof InvalidTokenError>[0], m: string) =>
        new InvalidTokenError(reason, m, { realm });
      const ver = p.ver;
      if (ver !== '1.0' && ver !== '2.0')
        throw reject('unsupported_version', 'The token has no supported version (ver)');
      if (!versions.has(ver))
        throw reject('unsupported_version', `Version ${ver} tokens are not accepted`);
      if (typeof p.tid !== 'string' || !GUID.test(p.tid))
        throw reject('invalid_claims', 'The token has no tenant id (tid)');
      const tenantId = p.tid.toLowerCase();
      if (!tenants.has(tenantId)) {
        throw reject(
          'wrong_tenant',
          'The token was issued for a tenant this API does not accept (tid)',
        );
      }
      const expected = ver === '2.0' ? v2Issuer(authority, p.tid) : v1Issuer(authority, p.tid);
      if (p.iss !== expected)
        throw reject('wrong_issuer', 'The token was not issued by the expected issuer (iss)');
      return tenantId;
    },
  };
  return createVerifier(rules, options);
}

function normaliseAuthority(authority: string | undefined): string {
  if (authority === undefined) return DEFAULT_AUTHORITY;
  if (typeof authority !== 'string' || !URL.canParse(authority))
    throw new InvalidOptionError('authority', `must be an https URL, got ${String(authority)}`);
  const url = new URL(authority);
  if (url.protocol !== 'https:' || url.search || url.hash)
    throw new InvalidOptionError('authority', `must be an https URL, got ${authority}`);
  return authority.replace(/\/+$/, '');
}
