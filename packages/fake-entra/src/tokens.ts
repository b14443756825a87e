// Builds and signs tokens shaped like Entra ID's v2.0 access and id tokens, and the named
// broken tokens tests use to prove a validator rejects each failure mode.
import { createHash, createHmac, randomBytes, randomUUID, sign } from 'node:crypto';
import type { ApiConfig, ClientConfig, UserConfig } from './config.ts';
import type { Directory } from './directory.ts';
import { createSigningKey, type KeyStore, type SigningKey } from './keys.ts';

export interface Lifetimes {
  accessToken: number;
  idToken: number;
  refreshToken: number;
  code: number;
}

export const DEFAULT_LIFETIMES: Lifetimes = {
  accessToken: 3600,
  idToken: 3600,
  refreshToken: 86_400,
  code: 600,
};

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
  /** The calling app (`azp`); default the first web app, or the first daemon for app tokens. */
  clientId?: string;
  /** `aud`; default the client id of the first API other than Graph. */
  audience?: string;
  /** Scope names for `scp` (prefixes like `api://…/` are stripped); default the user's consented scopes. */
  scopes?: string[];
  /** App roles for `roles`; default the app's granted roles (app tokens). */
  roles?: string[];
  /** App-only token: `idtyp: app`, `roles`, no `scp`. */
  app?: boolean;
  lifetimeSeconds?: number;
  /** Claims to set; a value of `undefined` removes the claim. */
  claims?: Record<string, unknown>;
  /** Header fields to set; `undefined` removes one. */
  header?: Record<string, unknown>;
  tenant?: string;
}

type Claims = Record<string, unknown>;

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

/** Pairwise `sub`: stable per user and app, different across apps (as Entra's). */
export function pairwiseSub(oid: string, appId: string): string {
  return createHash('sha256').update(`${oid}:${appId}`).digest('base64url').slice(0, 43);
}

export function clientInfo(oid: string, tid: string): string {
  return Buffer.from(JSON.stringify({ uid: oid, utid: tid })).toString('base64url');
}

export interface IssuerUrls {
  issuer(tenant: string): string;
}

export class TokenFactory {
  readonly #directory: Directory;
  readonly #keys: KeyStore;
  readonly #urls: IssuerUrls;
  lifetimes: Lifetimes;
  #strayKey: Promise<SigningKey> | undefined;

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

  private times(lifetime: number): { iat: number; nbf: number; exp: number } {
    const t = now();
    return { iat: t, nbf: t, exp: t + lifetime };
  }

  userAccessClaims(o: {
    user: UserConfig;
    client: ClientConfig;
    api: ApiConfig;
    scopes: string[];
    tenant: string;
    lifetime: number;
    audience?: string;
  }): Claims {
    return {
      aud: o.audience ?? o.api.clientId,
      iss: this.#urls.issuer(o.tenant),
      ...this.times(o.lifetime),
      aio: opaque(48),
      azp: o.client.clientId,
      azpacr: o.client.secret ? '1' : '0',
      name: o.user.name,
      oid: o.user.oid,
      preferred_username: o.user.upn,
      rh: `1.${opaque(40)}.`,
      scp: o.scopes.join(' '),
      sid: randomUUID(),
      sub: pairwiseSub(o.user.oid, o.api.clientId),
      tid: o.tenant,
      uti: opaque(16),
      ver: '2.0',
    };
  }

  appAccessClaims(o: {
    client: ClientConfig;
    api: ApiConfig;
    roles: string[];
    tenant: string;
    lifetime: number;
    audience?: string;
  }): Claims {
    const spId = this.#directory.clientObjectId(o.client);
    return {
      aud: o.audience ?? o.api.clientId,
      iss: this.#urls.issuer(o.tenant),
      ...this.times(o.lifetime),
      aio: opaque(48),
      azp: o.client.clientId,
      azpacr: '1',
      idtyp: 'app',
      oid: spId,
      rh: `1.${opaque(40)}.`,
      ...(o.roles.length ? { roles: o.roles } : {}),
      sub: spId,
      tid: o.tenant,
      uti: opaque(16),
      ver: '2.0',
    };
  }

  idTokenClaims(o: {
    user: UserConfig;
    client: ClientConfig;
    tenant: string;
    nonce?: string;
    lifetime: number;
    email?: boolean;
  }): Claims {
    return {
      aud: o.client.clientId,
      iss: this.#urls.issuer(o.tenant),
      ...this.times(o.lifetime),
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

  /** Resolves mint options against the configuration and returns the claims of a valid token. */
  private mintClaims(o: MintOptions): Claims {
    const d = this.#directory;
    const tenant = o.tenant ?? d.defaultTenant;
    const lifetime = o.lifetimeSeconds ?? this.lifetimes.accessToken;
    const api = (o.audience ? d.api(o.audience) : undefined) ?? d.primaryApi() ?? d.config.apis[0];
    if (!api)
      throw new Error('mintAccessToken: the configuration has no API; pass a configured audience');
    const stripped = (list: string[]) => list.map((s) => s.slice(s.lastIndexOf('/') + 1));
    if (o.app) {
      const clientId = o.clientId ?? d.primaryDaemon()?.clientId ?? randomUUID();
      const client = d.client(clientId) ?? {
        name: 'minted',
        clientId,
        secret: 'minted',
        redirectUris: [],
        postLogoutRedirectUris: [],
        permissions: [],
        appRoles: [],
      };
      const roles = o.roles ?? d.appRoles(client, api);
      return applyOverrides(
        this.appAccessClaims({
          client,
          api,
          roles: stripped(roles),
          tenant,
          lifetime,
          audience: o.audience,
        }),
        o.claims,
      );
    }
    const user = o.user ? d.user(o.user) : d.primaryUser();
    if (!user)
      throw new Error(
        o.user
          ? `mintAccessToken: no configured user "${o.user}"`
          : 'mintAccessToken: the configuration has no user',
      );
    const clientId = o.clientId ?? d.primaryWebClient()?.clientId ?? randomUUID();
    const client = d.client(clientId) ?? {
      name: 'minted',
      clientId,
      secret: 'minted',
      redirectUris: [],
      postLogoutRedirectUris: [],
      permissions: [],
      appRoles: [],
    };
    const scopes = stripped(o.scopes ?? d.consentedScopes(user, api));
    let claims = this.userAccessClaims({
      user,
      client,
      api,
      scopes,
      tenant,
      lifetime,
      audience: o.audience,
    });
    if (o.roles) claims.roles = stripped(o.roles);
    claims = applyOverrides(claims, o.claims);
    return claims;
  }

  mintAccessToken(o: MintOptions = {}): string {
    return this.sign(this.mintClaims(o), o.header);
  }

  private strayKey(): Promise<SigningKey> {
    this.#strayKey ??= createSigningKey();
    return this.#strayKey;
  }

  /** A token that a correct validator must reject, for the reason `kind` names. */
  async mintBrokenToken(kind: BrokenTokenKind, o: MintOptions = {}): Promise<string> {
    const claims = this.mintClaims(o);
    const t = now();
    const tid = String(claims.tid);
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
        return this.sign({ ...claims, tid: other, iss: this.#urls.issuer(other) }, o.header);
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
        const clientId = o.clientId ?? d.primaryWebClient()?.clientId ?? randomUUID();
        const client = d.client(clientId) ?? {
          name: 'minted',
          clientId,
          redirectUris: [],
          postLogoutRedirectUris: [],
          permissions: [],
          appRoles: [],
        };
        const idClaims = this.idTokenClaims({
          user,
          client,
          tenant: o.tenant ?? d.defaultTenant,
          nonce: opaque(16),
          lifetime: o.lifetimeSeconds ?? this.lifetimes.idToken,
        });
        return this.sign(applyOverrides(idClaims, o.claims), o.header);
      }
      case 'v1-token': {
        const api = this.#directory.api(String(claims.aud));
        const v1: Claims = {
          aud: api?.identifier ?? claims.aud,
          iss: `https://sts.windows.net/${tid}/`,
          iat: claims.iat,
          nbf: claims.nbf,
          exp: claims.exp,
          aio: claims.aio,
          appid: claims.azp,
          appidacr: claims.azpacr,
          ...(claims.idtyp
            ? { idtyp: claims.idtyp, roles: claims.roles }
            : {
                name: claims.name,
                scp: claims.scp,
                upn: claims.preferred_username,
                unique_name: claims.preferred_username,
              }),
          oid: claims.oid,
          rh: claims.rh,
          sub: claims.sub,
          tid,
          uti: claims.uti,
          ver: '1.0',
        };
        return this.sign(v1, o.header);
      }
      default: {
        const never: never = kind;
        throw new Error(`unknown broken token kind: ${String(never)}`);
      }
    }
  }
}
