// Builds and signs tokens shaped like Entra ID's: v1.0 or v2.0 access tokens as the resource's
// `accessTokenAcceptedVersion` says, Microsoft Graph's tokens (with the header nonce only Graph
// can verify), id tokens, and the named broken tokens tests use to prove a validator rejects
// each failure mode.
import { createHash, createHmac, randomBytes, randomInt, randomUUID, sign } from 'node:crypto';
import { splitPermission, type ApiConfig, type ClientConfig, type UserConfig } from './config.ts';
import { GRAPH_APP_ID, type Directory } from './directory.ts';
import { createSigningKey, type KeyStore, type SigningKey } from './keys.ts';

/** Token lifetimes in seconds. */
export interface Lifetimes {
  /** A fixed lifetime, or `{ min, max }`: each token gets a random one in that range. */
  accessToken: number | { min: number; max: number };
  idToken: number;
  refreshToken: number;
  code: number;
  /** How long a device code (and its user code) can be used. */
  deviceCode: number;
  /** Seconds a device-code client is told to wait between polls. */
  deviceCodeInterval: number;
  /** How far `iat`/`nbf` lie before the time of issue (clock skew allowance). */
  backdate: number;
}

// Entra's defaults: access tokens 60-90 minutes at random, refresh tokens 90 days, id tokens an
// hour, iat/nbf about 5 minutes in the past, device codes 15 minutes polled every 5 seconds.
export const DEFAULT_LIFETIMES: Lifetimes = {
  accessToken: { min: 3600, max: 5400 },
  idToken: 3600,
  refreshToken: 90 * 24 * 60 * 60,
  code: 600,
  deviceCode: 900,
  deviceCodeInterval: 5,
  backdate: 300,
};

/** How the user authenticated: carried from the sign-in to its codes and refresh tokens. */
export interface AuthState {
  /** Authentication methods (`amr`): `pwd`, plus `mfa` after a second factor. */
  amr: string[];
  /** When the user signed in (seconds). */
  authTime: number;
  /** The address the user signed in from (`ipaddr`). */
  ipaddr?: string;
}

export const passwordOnly = (ipaddr?: string): AuthState => ({
  amr: ['pwd'],
  authTime: Math.floor(Date.now() / 1000),
  // An IPv4 client seen on a dual-stack socket, written as Entra writes addresses.
  ...(ipaddr ? { ipaddr: ipaddr.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') } : {}),
});

export const hasMfa = (auth: AuthState | undefined): boolean => !!auth?.amr.includes('mfa');

/** How the client authenticated (`azpacr` / `appidacr`): public, secret, certificate. */
export type ClientAuthMethod = '0' | '1' | '2';

export type BrokenTokenKind =
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'other-tenant'
  | 'unknown-kid'
  | 'no-kid'
  | 'alg-none'
  | 'hs256-with-public-key'
  | 'tampered-payload'
  | 'missing-exp'
  | 'id-token'
  | 'v1-token';

export const BROKEN_TOKEN_KINDS: readonly BrokenTokenKind[] = [
  'expired',
  'not-yet-valid',
  'wrong-audience',
  'wrong-issuer',
  'other-tenant',
  'unknown-kid',
  'no-kid',
  'alg-none',
  'hs256-with-public-key',
  'tampered-payload',
  'missing-exp',
  'id-token',
  'v1-token',
];

export interface MintOptions {
  /** UPN (or oid) of a configured user; default the first user (alice). Ignored for app tokens. */
  user?: string;
  /** The calling app (`azp`/`appid`); default the first web app, or the first daemon for app tokens. */
  clientId?: string;
  /** `aud` as given; it also picks the API whose token shape is used (default the first API other than Graph, its client id as `aud`). */
  audience?: string;
  /** Scope names for `scp` (prefixes like `api://…/` are stripped); default the user's consented scopes. */
  scopes?: string[];
  /** App roles for `roles`; default the user's assigned roles, or the app's granted roles (app tokens). */
  roles?: string[];
  /** App-only token: `roles`, no `scp` (and `idtyp: app` when the API asks for it). */
  app?: boolean;
  /** Token format; default the API's `accessTokenAcceptedVersion` (null and 1: v1.0). */
  version?: 1 | 2;
  lifetimeSeconds?: number;
  /** Claims to set; a value of `undefined` removes the claim. */
  claims?: Record<string, unknown>;
  /** Header fields to set; `undefined` removes one. */
  header?: Record<string, unknown>;
  tenant?: string;
}

type Claims = Record<string, unknown>;

/** Entra's overage limit for groups in a JWT (150 in SAML, 6 in the implicit flow's URL). */
export const GROUPS_OVERAGE_LIMIT = 200;
/** Client capabilities Entra knows (`xms_cc`); others are dropped. */
const KNOWN_CAPABILITIES = new Set(['cp1']);

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Opaque random claim values as Entra uses them (aio, rh, uti). */
const opaque = (bytes: number) => randomBytes(bytes).toString('base64url');

function applyOverrides(target: Claims, overrides: Record<string, unknown> | undefined): Claims {
  if (!overrides) return target;
  const out = { ...target };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Entra's order: aud, iss, iat, nbf, exp, then the other claims alphabetically. */
function ordered(claims: Claims): Claims {
  const head = ['aud', 'iss', 'iat', 'nbf', 'exp'];
  const out: Claims = {};
  for (const k of head) if (k in claims) out[k] = claims[k];
  for (const k of Object.keys(claims).sort()) if (!head.includes(k)) out[k] = claims[k];
  return out;
}

/** Pairwise `sub`: stable per user and app, different across apps (as Entra's). */
export function pairwiseSub(oid: string, appId: string): string {
  return createHash('sha256').update(`${oid}:${appId}`).digest('base64url').slice(0, 43);
}

export function clientInfo(oid: string, tid: string): string {
  return Buffer.from(JSON.stringify({ uid: oid, utid: tid })).toString('base64url');
}

/** The v1.0 issuer: the same host in every deployment (`sts.windows.net`), as in Entra's public cloud. */
export const v1Issuer = (tenant: string) => `https://sts.windows.net/${tenant}/`;

/** `null` and 1 mean v1.0 tokens (Entra's default for registered APIs), 2 means v2.0. */
export const tokenVersion = (api: ApiConfig): 1 | 2 =>
  api.accessTokenAcceptedVersion === 2 ? 2 : 1;

const optional = (api: ApiConfig, name: string) =>
  api.optionalClaims.accessToken.find((c) => c.name === name);

/**
 * The `aud` of a v1.0 token is the resource as the client named it (App ID URI or client id);
 * a bare scope (Graph's `User.Read`) names the client id. v2.0 tokens always carry the client id.
 */
export function audienceAsRequested(api: ApiConfig, scopeParam: string | undefined): string {
  for (const scope of (scopeParam ?? '').split(/\s+/).filter(Boolean)) {
    const lower = scope.toLowerCase();
    if (lower.startsWith(api.identifier.toLowerCase() + '/')) return api.identifier;
    if (lower.startsWith(api.clientId.toLowerCase() + '/')) return api.clientId;
  }
  return api.clientId;
}

/** Graph's signature covers base64url(SHA-256(nonce)) in place of the nonce its header carries. */
export function hashedNonce(nonce: string): string {
  return createHash('sha256').update(nonce, 'utf8').digest('base64url');
}

/** The app roles assigned to `user` on `api` (the `roles` of user tokens). */
export function userAppRoles(user: UserConfig, api: ApiConfig): string[] {
  return user.appRoles.flatMap((p) => {
    const m = splitPermission([api], p);
    return m ? [m.name] : [];
  });
}

export interface IssuerUrls {
  issuer(tenant: string): string;
}

export interface UserTokenInput {
  user: UserConfig;
  client: ClientConfig;
  api: ApiConfig;
  scopes: string[];
  tenant: string;
  /** The resource as requested (`aud` of v1.0 tokens); default the API's client id. */
  audience?: string;
  auth?: AuthState;
  /** Authentication contexts satisfied for this request (`acrs`). */
  acrs?: string[];
  /** Client capabilities the request declared (`xms_cc`). */
  capabilities?: string[];
  clientAuth: ClientAuthMethod;
  /** Overrides the configured lifetime (seconds). */
  lifetime?: number;
  /** Overrides `roles` (minting). */
  roles?: string[];
  version?: 1 | 2;
  /** The issuer session's id (`sid`); a fresh one when there is no session. */
  sid?: string;
}

export interface AppTokenInput {
  client: ClientConfig;
  api: ApiConfig;
  roles: string[];
  tenant: string;
  audience?: string;
  capabilities?: string[];
  clientAuth: ClientAuthMethod;
  lifetime?: number;
  version?: 1 | 2;
}

export interface BuiltClaims {
  claims: Claims;
  /** `expires_in` of the token response. */
  expiresIn: number;
}

export class TokenFactory {
  readonly #directory: Directory;
  readonly #keys: KeyStore;
  readonly #urls: IssuerUrls;
  lifetimes: Lifetimes;
  #strayKey: Promise<SigningKey> | undefined;
  /** How the user of each issued token (by `uti`) authenticated: on-behalf-of reads it back. */
  readonly #authByUti = new Map<string, AuthState>();

  constructor(directory: Directory, keys: KeyStore, urls: IssuerUrls, lifetimes: Lifetimes) {
    this.#directory = directory;
    this.#keys = keys;
    this.#urls = urls;
    this.lifetimes = lifetimes;
  }

  /** Signs `claims` as a compact JWS (RS256 with the current signing key unless `key` is given). */
  sign(
    claims: Claims,
    header?: Record<string, unknown>,
    key: SigningKey = this.#keys.signing,
  ): string {
    const h = applyOverrides({ typ: 'JWT', alg: 'RS256', kid: key.kid }, header);
    const input = `${b64url(h)}.${b64url(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
  }

  /**
   * Signs an access token as Entra does for `api`: v1.0 tokens carry `x5t` beside `kid`; Microsoft
   * Graph's carry a `nonce` and are signed over its SHA-256 hash, so only Graph can verify them.
   */
  signAccessToken(api: ApiConfig, claims: Claims, header?: Record<string, unknown>): string {
    const key = this.#keys.signing;
    if (api.clientId === GRAPH_APP_ID) {
      const nonce = opaque(64);
      const base = (n: string) =>
        applyOverrides({ typ: 'JWT', nonce: n, alg: 'RS256', x5t: key.x5t, kid: key.kid }, header);
      const payload = b64url(claims);
      const signed = `${b64url(base(hashedNonce(nonce)))}.${payload}`;
      const signature = sign('sha256', Buffer.from(signed), key.privateKey).toString('base64url');
      return `${b64url(base(nonce))}.${payload}.${signature}`;
    }
    if (claims.ver !== '1.0') return this.sign(claims, header);
    const h = applyOverrides({ typ: 'JWT', alg: 'RS256', x5t: key.x5t, kid: key.kid }, header);
    const input = `${b64url(h)}.${b64url(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
  }

  /** A lifetime drawn from the configured access-token lifetime (a range gives a random one). */
  accessTokenLifetime(): number {
    const l = this.lifetimes.accessToken;
    return typeof l === 'number' ? l : randomInt(Math.round(l.min), Math.round(l.max) + 1);
  }

  private times(lifetime: number): { iat: number; nbf: number; exp: number } {
    const t = now();
    const issued = t - this.lifetimes.backdate;
    return { iat: issued, nbf: issued, exp: t + lifetime };
  }

  /** How the user of an access token this issuer signed authenticated (unknown tokens: a password). */
  authOf(claims: { uti?: unknown; amr?: unknown }): AuthState {
    const known = typeof claims.uti === 'string' ? this.#authByUti.get(claims.uti) : undefined;
    if (known) return known;
    const amr = Array.isArray(claims.amr) ? claims.amr.map(String) : ['pwd'];
    return { amr, authTime: now() };
  }

  private remember(uti: string, auth: AuthState): void {
    if (this.#authByUti.size >= 10_000)
      this.#authByUti.delete(this.#authByUti.keys().next().value!);
    this.#authByUti.set(uti, auth);
  }

  /** `groups` (or Entra's overage claim above 200) and `wids`, as the API's manifest asks. */
  private membershipClaims(user: UserConfig, api: ApiConfig, tenant: string): Claims {
    const mode = api.groupMembershipClaims;
    const out: Claims = {};
    if ((mode === 'SecurityGroup' || mode === 'All') && user.groups.length > 0) {
      if (user.groups.length > GROUPS_OVERAGE_LIMIT) {
        // Entra still points at the (retired) Azure AD Graph; apps call Microsoft Graph instead.
        out._claim_names = { groups: 'src1' };
        out._claim_sources = {
          src1: {
            endpoint: `https://graph.windows.net/${tenant}/users/${user.oid}/getMemberObjects`,
          },
        };
      } else {
        out.groups = [...user.groups];
      }
    }
    if ((mode === 'DirectoryRole' || mode === 'All') && user.directoryRoles.length > 0)
      out.wids = [...user.directoryRoles];
    return out;
  }

  private capabilityClaims(api: ApiConfig, capabilities: string[] | undefined): Claims {
    if (!optional(api, 'xms_cc')) return {};
    const known = (capabilities ?? []).filter((c) => KNOWN_CAPABILITIES.has(c.toLowerCase()));
    return known.length ? { xms_cc: known } : {};
  }

  userAccessClaims(o: UserTokenInput): BuiltClaims {
    const { user, client, api, tenant } = o;
    const version = o.version ?? tokenVersion(api);
    const lifetime = o.lifetime ?? this.accessTokenLifetime();
    const auth = o.auth ?? passwordOnly();
    const roles = o.roles ?? userAppRoles(user, api);
    const uti = opaque(16);
    const common: Claims = {
      ...this.times(lifetime),
      ...(o.acrs?.length ? { acrs: [...o.acrs] } : {}),
      aio: opaque(48),
      name: user.name,
      oid: user.oid,
      rh: `1.${opaque(40)}.`,
      ...(roles.length ? { roles } : {}),
      scp: o.scopes.join(' '),
      sid: o.sid ?? randomUUID(),
      sub: pairwiseSub(user.oid, api.clientId),
      tid: tenant,
      uti,
      ...this.membershipClaims(user, api, tenant),
      ...this.capabilityClaims(api, o.capabilities),
    };
    const idtyp = optional(api, 'idtyp');
    if (idtyp?.additionalProperties.includes('include_user_token')) common.idtyp = 'user';
    const names: Claims = {
      ...(user.surname ? { family_name: user.surname } : {}),
      ...(user.givenName ? { given_name: user.givenName } : {}),
    };
    let claims: Claims;
    if (version === 1) {
      const useGuid = optional(api, 'aud')?.additionalProperties.includes('use_guid');
      claims = {
        ...common,
        aud: useGuid ? api.clientId : (o.audience ?? api.clientId),
        iss: v1Issuer(tenant),
        acr: '1',
        amr: [...auth.amr],
        appid: client.clientId,
        appidacr: o.clientAuth,
        ...names,
        ...(auth.ipaddr ? { ipaddr: auth.ipaddr } : {}),
        unique_name: user.upn,
        upn: user.upn,
        ...(optional(api, 'preferred_username') ? { preferred_username: user.upn } : {}),
        ...(optional(api, 'email') ? { email: user.upn } : {}),
        ver: '1.0',
      };
    } else {
      claims = {
        ...common,
        aud: api.clientId,
        iss: this.#urls.issuer(tenant),
        azp: client.clientId,
        azpacr: o.clientAuth,
        preferred_username: user.upn,
        ...(optional(api, 'family_name') && names.family_name
          ? { family_name: names.family_name }
          : {}),
        ...(optional(api, 'given_name') && names.given_name
          ? { given_name: names.given_name }
          : {}),
        ...(optional(api, 'upn') ? { upn: user.upn } : {}),
        ...(optional(api, 'email') ? { email: user.upn } : {}),
        ...(optional(api, 'ipaddr') && auth.ipaddr ? { ipaddr: auth.ipaddr } : {}),
        ver: '2.0',
      };
    }
    this.remember(uti, auth);
    return { claims: ordered(claims), expiresIn: lifetime };
  }

  appAccessClaims(o: AppTokenInput): BuiltClaims {
    const { client, api, tenant } = o;
    const version = o.version ?? tokenVersion(api);
    const lifetime = o.lifetime ?? this.accessTokenLifetime();
    const spId = this.#directory.clientObjectId(client);
    const common: Claims = {
      ...this.times(lifetime),
      aio: opaque(48),
      ...(optional(api, 'idtyp') ? { idtyp: 'app' } : {}),
      oid: spId,
      rh: `1.${opaque(40)}.`,
      ...(o.roles.length ? { roles: o.roles } : {}),
      sub: spId,
      tid: tenant,
      uti: opaque(16),
      ...this.capabilityClaims(api, o.capabilities),
    };
    const claims: Claims =
      version === 1
        ? {
            ...common,
            aud: optional(api, 'aud')?.additionalProperties.includes('use_guid')
              ? api.clientId
              : (o.audience ?? api.clientId),
            iss: v1Issuer(tenant),
            appid: client.clientId,
            appidacr: o.clientAuth,
            idp: v1Issuer(tenant),
            ver: '1.0',
          }
        : {
            ...common,
            aud: api.clientId,
            iss: this.#urls.issuer(tenant),
            azp: client.clientId,
            azpacr: o.clientAuth,
            ver: '2.0',
          };
    return { claims: ordered(claims), expiresIn: lifetime };
  }

  idTokenClaims(o: {
    user: UserConfig;
    client: ClientConfig;
    tenant: string;
    nonce?: string;
    lifetime?: number;
    email?: boolean;
  }): Claims {
    return {
      aud: o.client.clientId,
      iss: this.#urls.issuer(o.tenant),
      ...this.times(o.lifetime ?? this.lifetimes.idToken),
      aio: opaque(48),
      ...(o.email ? { email: o.user.upn } : {}),
      name: o.user.name,
      ...(o.nonce ? { nonce: o.nonce } : {}),
      oid: o.user.oid,
      preferred_username: o.user.upn,
      rh: `1.${opaque(40)}.`,
      sid: randomUUID(),
      sub: pairwiseSub(o.user.oid, o.client.clientId),
      tid: o.tenant,
      uti: opaque(16),
      ver: '2.0',
    };
  }

  private mintClient(clientId: string): ClientConfig {
    return (
      this.#directory.client(clientId) ?? {
        name: 'minted',
        clientId,
        secret: 'minted',
        redirectUris: [],
        spaRedirectUris: [],
        postLogoutRedirectUris: [],
        permissions: [],
        appRoles: [],
        certificates: [],
      }
    );
  }

  /** Resolves mint options against the configuration and returns the claims of a valid token. */
  private mintClaims(o: MintOptions, version?: 1 | 2): { api: ApiConfig; claims: Claims } {
    const d = this.#directory;
    const tenant = o.tenant ?? d.defaultTenant;
    const lifetime = o.lifetimeSeconds;
    const api = (o.audience ? d.api(o.audience) : undefined) ?? d.primaryApi() ?? d.config.apis[0];
    if (!api)
      throw new Error('mintAccessToken: the configuration has no API; pass a configured audience');
    const audience = o.audience ?? api.clientId;
    // A minted token carries the audience asked for as given (a test may want any aud).
    const withAudience = (claims: Claims): Claims =>
      o.audience === undefined ? claims : { ...claims, aud: o.audience };
    const stripped = (list: string[]) => list.map((s) => s.slice(s.lastIndexOf('/') + 1));
    const v = version ?? o.version;
    if (o.app) {
      const client = this.mintClient(o.clientId ?? d.primaryDaemon()?.clientId ?? randomUUID());
      const roles = o.roles ?? d.appRoles(client, api);
      const { claims } = this.appAccessClaims({
        client,
        api,
        roles: stripped(roles),
        tenant,
        lifetime,
        audience,
        clientAuth: '1',
        version: v,
      });
      return { api, claims: applyOverrides(withAudience(claims), o.claims) };
    }
    const user = o.user ? d.user(o.user) : d.primaryUser();
    if (!user)
      throw new Error(
        o.user
          ? `mintAccessToken: no configured user "${o.user}"`
          : 'mintAccessToken: the configuration has no user',
      );
    const client = this.mintClient(o.clientId ?? d.primaryWebClient()?.clientId ?? randomUUID());
    const { claims } = this.userAccessClaims({
      user,
      client,
      api,
      scopes: stripped(o.scopes ?? d.consentedScopes(user, api)),
      tenant,
      lifetime,
      audience,
      clientAuth: client.secret ? '1' : '0',
      roles: o.roles ? stripped(o.roles) : undefined,
      version: v,
    });
    return { api, claims: applyOverrides(withAudience(claims), o.claims) };
  }

  mintAccessToken(o: MintOptions = {}): string {
    const { api, claims } = this.mintClaims(o);
    return this.signAccessToken(api, claims, o.header);
  }

  private strayKey(): Promise<SigningKey> {
    this.#strayKey ??= createSigningKey();
    return this.#strayKey;
  }

  /** A token that a correct validator must reject, for the reason `kind` names. */
  async mintBrokenToken(kind: BrokenTokenKind, o: MintOptions = {}): Promise<string> {
    const { claims } = this.mintClaims(o);
    const t = now();
    const tid = String(claims.tid);
    const v2Issuer = claims.ver === '1.0' ? v1Issuer : (x: string) => this.#urls.issuer(x);
    switch (kind) {
      case 'expired':
        return this.sign({ ...claims, iat: t - 7200, nbf: t - 7200, exp: t - 3600 }, o.header);
      case 'not-yet-valid':
        return this.sign({ ...claims, iat: t, nbf: t + 3600, exp: t + 7200 }, o.header);
      case 'wrong-audience':
        return this.sign({ ...claims, aud: randomUUID() }, o.header);
      case 'wrong-issuer':
        return this.sign(
          { ...claims, iss: `https://login.fake-entra.invalid/${tid}/v2.0` },
          o.header,
        );
      case 'other-tenant': {
        const other = randomUUID();
        return this.sign({ ...claims, tid: other, iss: v2Issuer(other) }, o.header);
      }
      case 'unknown-kid':
        return this.sign(claims, o.header, await this.strayKey());
      case 'no-kid':
        return this.sign(claims, { ...o.header, kid: undefined });
      case 'alg-none': {
        const header = applyOverrides({ typ: 'JWT', alg: 'none' }, o.header);
        return `${b64url(header)}.${b64url(claims)}.`;
      }
      case 'hs256-with-public-key': {
        // The classic key-confusion attack: HMAC keyed with the published RSA public key.
        const key = this.#keys.signing;
        const header = applyOverrides({ typ: 'JWT', alg: 'HS256', kid: key.kid }, o.header);
        const input = `${b64url(header)}.${b64url(claims)}`;
        return `${input}.${createHmac('sha256', key.publicKeyPem).update(input).digest('base64url')}`;
      }
      case 'tampered-payload': {
        const [header, , signature] = this.sign(claims, o.header).split('.');
        const api = this.#directory.api(String(claims.aud));
        const tampered = {
          ...claims,
          oid: randomUUID(),
          ...(claims.scp !== undefined
            ? { scp: (api?.scopes ?? ['data.read', 'data.write']).join(' ') }
            : {}),
        };
        return `${header}.${b64url(tampered)}.${signature}`;
      }
      case 'missing-exp': {
        const { exp: _exp, ...rest } = claims;
        return this.sign(rest, o.header);
      }
      case 'id-token': {
        const d = this.#directory;
        const user = (o.user ? d.user(o.user) : undefined) ?? d.primaryUser();
        if (!user) throw new Error('mintBrokenToken(id-token): the configuration has no user');
        const client = this.mintClient(
          o.clientId ?? d.primaryWebClient()?.clientId ?? randomUUID(),
        );
        const idClaims = this.idTokenClaims({
          user,
          client,
          tenant: o.tenant ?? d.defaultTenant,
          nonce: opaque(16),
          lifetime: o.lifetimeSeconds,
        });
        return this.sign(applyOverrides(idClaims, o.claims), o.header);
      }
      case 'v1-token': {
        // What an API left at Entra's default version receives: valid, but v1.0 (iss sts.windows.net).
        const { api, claims: v1 } = this.mintClaims(
          { ...o, audience: o.audience ?? this.#directory.primaryApi()?.identifier },
          1,
        );
        return this.signAccessToken(api, v1, o.header);
      }
      default: {
        const never: never = kind;
        throw new Error(`unknown broken token kind: ${String(never)}`);
      }
    }
  }
}
