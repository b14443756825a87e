// Microsoft Entra ID's URL and issuer rules, in this one module: where discovery is, which
// `iss` each token version carries in each cloud, which tenants and versions are accepted.
// Sources: https://learn.microsoft.com/entra/identity-platform/access-tokens (iss per version,
// tid, ver, idtyp, validation), .../v2-protocols-oidc (discovery at
// {authority}/{tenant}/v2.0/.well-known/openid-configuration, issuer {authority}/{tid}/v2.0; the
// organizations/common documents name the issuer template {authority}/{tenantid}/v2.0),
// .../authentication-national-cloud (the clouds' sign-in hosts), and Microsoft.IdentityModel's
// AadIssuerValidator (used by Microsoft.Identity.Web): a token's `iss` must equal the issuer
// template with `{tenantid}` replaced by the token's own `tid`.
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

/** The tenant segments of a multi-tenant API's discovery (Entra's `organizations` and `common`). */
export type MultiTenantSegment = 'organizations' | 'common';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MULTI_TENANT: readonly string[] = ['organizations', 'common'];

/** Entra's placeholder in multi-tenant issuer templates. */
export const TENANT_ID_TEMPLATE = '{tenantid}';

/**
 * The v1.0 issuer host of each cloud, by the sign-in hosts (and aliases) of its authority.
 * Public cloud and Azure Government: sts.windows.net (access-tokens; Spring Cloud Azure's
 * trusted issuers know only it and China's); Microsoft Azure operated by 21Vianet:
 * sts.chinacloudapi.cn (MicrosoftDocs/azure-docs#123050). Any other authority (the offline fake
 * issuer, a proxy) gets the public cloud's, as the fake issues.
 */
const V1_ISSUER_HOSTS: Readonly<Record<string, string>> = {
  'login.microsoftonline.com': 'sts.windows.net',
  'login.windows.net': 'sts.windows.net',
  'login.microsoft.com': 'sts.windows.net',
  'sts.windows.net': 'sts.windows.net',
  'login.microsoftonline.us': 'sts.windows.net',
  'login.usgovcloudapi.net': 'sts.windows.net',
  'login.partner.microsoftonline.cn': 'sts.chinacloudapi.cn',
  'login.chinacloudapi.cn': 'sts.chinacloudapi.cn',
};

/**
 * The v2.0 issuer host of an authority host that is an alias of another (MSAL common's
 * EndpointMetadata and InstanceDiscoveryMetadata: login.chinacloudapi.cn issues as
 * login.partner.microsoftonline.cn). Other hosts issue under their own name.
 */
const V2_ISSUER_HOSTS: Readonly<Record<string, string>> = {
  'login.chinacloudapi.cn': 'login.partner.microsoftonline.cn',
};

/** The v2.0 issuer (template) of a tenant segment: a GUID, or `{tenantid}` for multi-tenant. */
function v2Issuer(authority: string, tenant: string): string {
  const url = new URL(authority);
  const host = V2_ISSUER_HOSTS[url.hostname];
  const base = host === undefined ? authority : `${url.protocol}//${host}${url.pathname}`;
  return `${base.replace(/\/$/, '')}/${tenant}/v2.0`;
}

/** The v1.0 issuer (template) for an authority's cloud. */
function v1Issuer(authority: string, tenant: string): string {
  const host = V1_ISSUER_HOSTS[new URL(authority).hostname] ?? 'sts.windows.net';
  return `https://${host}/${tenant}/`;
}

/** Whether `iss` is `template` with {tenantid} replaced by `tid` (AadIssuerValidator.IsValidIssuer). */
function issuerMatches(template: string, tid: string, iss: unknown): boolean {
  return typeof iss === 'string' && iss === template.replace(TENANT_ID_TEMPLATE, tid);
}

/** Entra's endpoints of one tenant, as {@link entraEndpoints} returns them. */
export interface EntraEndpoints {
  /** `iss` of v2.0 tokens, and the discovery document's `issuer` (`{tenantid}` template for organizations/common). */
  issuer: string;
  /** `iss` of v1.0 tokens (template for organizations/common). */
  v1Issuer: string;
  discoveryUrl: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

/**
 * The endpoints of a tenant, or of `organizations`/`common` (for API documentation, clients,
 * or configuration checks).
 *
 * @example
 * ```ts
 * entraEndpoints({ tenantId: '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e' }).authorizationEndpoint;
 * // 'https://login.microsoftonline.com/3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e/oauth2/v2.0/authorize'
 * entraEndpoints({ tenantId: 'organizations' }).issuer;
 * // 'https://login.microsoftonline.com/{tenantid}/v2.0'
 * ```
 */
export function entraEndpoints(options: { authority?: string; tenantId: string }): EntraEndpoints {
  const authority = normaliseAuthority(options.authority);
  const tenantId = options.tenantId;
  const template = MULTI_TENANT.includes(tenantId.toLowerCase()) ? TENANT_ID_TEMPLATE : tenantId;
  return {
    issuer: v2Issuer(authority, template),
    v1Issuer: v1Issuer(authority, template),
    discoveryUrl: `${authority}/${tenantId}/v2.0/.well-known/openid-configuration`,
    authorizationEndpoint: `${authority}/${tenantId}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${authority}/${tenantId}/oauth2/v2.0/token`,
  };
}

export interface EntraVerifierOptions extends VerifierOptions {
  /**
   * https base URL of Entra: `https://login.microsoftonline.com` (default),
   * `https://login.microsoftonline.us` (Azure Government), `https://login.partner.microsoftonline.cn`
   * (operated by 21Vianet), or the fake issuer's URL offline.
   */
  authority?: string;
  /**
   * The API's home tenant (GUID), where keys are discovered and whose tokens are accepted; or
   * `organizations` / `common` for a multi-tenant API (keys and the `{tenantid}` issuer
   * template from that endpoint; `allowedTenants` then says which tenants are accepted).
   */
  tenantId?: string;
  /**
   * More tenants (GUIDs) whose tokens are accepted, or `'*'` for any tenant (multi-tenant API).
   * Required with `tenantId` `organizations`/`common`.
   */
  allowedTenants?: readonly string[] | '*';
  /** Accepted token versions (`ver`; default `['2.0']`). The API's manifest decides what Entra issues. */
  acceptedVersions?: readonly EntraTokenVersion[];
}

/**
 * A verifier of Microsoft Entra ID access tokens: RS256 signature against the tenant's
 * published keys, `exp`/`nbf`, `aud`, `ver`, `tid` in the accepted tenants, `iss` exactly the
 * issuer of the token's own tenant for its version and cloud, no ID tokens, consistent
 * `scp`/`roles`/`idtyp`.
 *
 * @example
 * ```ts
 * const verifier = createEntraVerifier({
 *   tenantId: process.env.TENANT_ID,
 *   audience: [process.env.API_CLIENT_ID, `api://${process.env.API_CLIENT_ID}`],
 * });
 * const principal = await verifier.verify(token);
 * // Any work or school tenant:
 * createEntraVerifier({ tenantId: 'organizations', allowedTenants: '*', audience });
 * ```
 */
export function createEntraVerifier(options: EntraVerifierOptions): TokenVerifier {
  const authority = normaliseAuthority(options.authority);
  const allowed = options.allowedTenants ?? [];
  const anyTenant = allowed === '*';
  if (!anyTenant && !Array.isArray(allowed))
    throw new InvalidOptionError('allowedTenants', 'must be a list of tenant GUIDs or "*"');
  const listed = anyTenant ? [] : (allowed as readonly string[]);
  for (const tenant of listed) {
    if (typeof tenant !== 'string' || !GUID.test(tenant))
      throw new InvalidOptionError(
        'allowedTenants',
        `must be tenant GUIDs (or "*"), got ${JSON.stringify(tenant)}`,
      );
  }
  const tenantOption = options.tenantId;
  const multi =
    typeof tenantOption === 'string' && MULTI_TENANT.includes(tenantOption.toLowerCase());
  if (
    tenantOption !== undefined &&
    !multi &&
    (typeof tenantOption !== 'string' || !GUID.test(tenantOption))
  )
    throw new InvalidOptionError(
      'tenantId',
      `must be a tenant GUID, organizations or common, got ${JSON.stringify(tenantOption)}`,
    );
  if (multi && !anyTenant && listed.length === 0)
    throw new InvalidOptionError(
      'allowedTenants',
      `is required with tenantId ${tenantOption}: list the tenant GUIDs whose tokens are accepted, or "*" for any tenant`,
    );
  const home = (tenantOption ?? listed[0])?.toLowerCase();
  if (home === undefined)
    throw new InvalidOptionError('tenantId', 'is required (or give allowedTenants)');
  const tenants = new Set([...(multi ? [] : [home]), ...listed.map((t) => t.toLowerCase())]);

  const versions = new Set(options.acceptedVersions ?? ['2.0']);
  if (versions.size === 0 || [...versions].some((v) => v !== '1.0' && v !== '2.0'))
    throw new InvalidOptionError('acceptedVersions', 'must list "1.0" and/or "2.0"');
  const acceptedText = [...versions].sort().join(' and ');

  const endpoints = entraEndpoints({ authority, tenantId: home });
  const issuerTemplates = { '2.0': endpoints.issuer, '1.0': endpoints.v1Issuer };
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
        throw reject(
          'unsupported_version',
          `The token is a version ${ver} access token; this API accepts version ${acceptedText} only`,
        );
      if (typeof p.tid !== 'string' || !GUID.test(p.tid))
        throw reject('invalid_claims', 'The token has no tenant id (tid)');
      const tenantId = p.tid.toLowerCase();
      if (!anyTenant && !tenants.has(tenantId)) {
        throw reject(
          'wrong_tenant',
          'The token was issued for a tenant this API does not accept (tid)',
        );
      }
      // The issuer's tenant must be the token's own tid (also for a single tenant: a template
      // without {tenantid} is compared as it is).
      const template = multi
        ? issuerTemplates[ver]
        : ver === '2.0'
          ? v2Issuer(authority, p.tid)
          : v1Issuer(authority, p.tid);
      if (!issuerMatches(template, p.tid, p.iss))
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
