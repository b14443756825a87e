// Lookups over the validated configuration: tenants, client apps, users, APIs, the rules that
// turn a requested `scope` parameter into what Entra would grant, consent (configured and given
// on the consent page), and who may sign in where (sign-in audience).
import { createHash } from 'node:crypto';
import {
  splitPermission,
  type ApiConfig,
  type ClientConfig,
  type HarnessConfig,
  type SignInAudience,
  type TenantConfig,
  type UserConfig,
} from './config.ts';
import { errors } from './errors.ts';

/** Microsoft Graph's application id and resource URI: Microsoft's, the same in every tenant. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

export interface TenantRef {
  id: string;
}

export interface ResolvedScopes {
  api: ApiConfig;
  /** Scope names on `api` that were asked for (empty when only OIDC scopes were). */
  names: string[];
  /** `{resource}/.default` was asked for. */
  isDefault: boolean;
  oidc: string[];
}

/** One delegated permission: a scope of an API. */
export interface Permission {
  api: ApiConfig;
  name: string;
}

export interface ConsentNeed {
  /** Requested permissions not granted yet (with `prompt=consent`: all requested). */
  missing: Permission[];
  /** Those of `missing` only an admin may grant. */
  adminOnly: Permission[];
  /** The user may grant `missing` on the consent page. */
  userMayConsent: boolean;
  /** The user's tenant lets no user consent (Entra's "Do not allow user consent"). */
  blockedByTenantPolicy: boolean;
}

/** Canonical key of a permission: `{api client id}/{scope}`, lower-case id. */
export function permissionKey(api: ApiConfig, name: string): string {
  return `${api.clientId.toLowerCase()}/${name}`;
}

/** Consent given on the consent page, per tenant, user and app; kept for the process lifetime. */
export class ConsentStore {
  readonly #grants = new Map<string, Set<string>>();

  static #key(tenant: string, userOid: string, clientId: string): string {
    return `${tenant}|${userOid}|${clientId}`.toLowerCase();
  }

  add(tenant: string, userOid: string, clientId: string, keys: readonly string[]): void {
    const key = ConsentStore.#key(tenant, userOid, clientId);
    const set = this.#grants.get(key) ?? new Set<string>();
    for (const k of keys) set.add(k);
    this.#grants.set(key, set);
  }

  get(tenant: string, userOid: string, clientId: string): ReadonlySet<string> {
    return this.#grants.get(ConsentStore.#key(tenant, userOid, clientId)) ?? new Set();
  }
}

export interface DelegatedGrant {
  api: ApiConfig;
  scopes: string[];
  /** The `scope` field of the token response, as Entra writes it. */
  responseScope: string;
}

/** A stable GUID derived from a seed (service principal ids of apps that configure none). */
function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class Directory {
  readonly config: HarnessConfig;
  readonly consents = new ConsentStore();

  constructor(config: HarnessConfig) {
    this.config = config;
  }

  tenantConfig(id: string): TenantConfig | undefined {
    return this.config.tenants.find((t) => t.id.toLowerCase() === id.toLowerCase());
  }

  /** The organization's name on pages: the configured name, else its first domain, else its id. */
  tenantName(id: string): string {
    const t = this.tenantConfig(id);
    return t?.name ?? t?.domains[0] ?? id;
  }

  signInAudience(client: ClientConfig): SignInAudience {
    return client.signInAudience ?? 'AzureADMyOrg';
  }

  isMultiTenant(client: ClientConfig): boolean {
    return this.signInAudience(client) !== 'AzureADMyOrg';
  }

  /**
   * The client app a request at `/{segment}/...` names. Unknown, or single-tenant and of another
   * tenant: AADSTS700016. Single-tenant at `/common` or `/organizations`: AADSTS50194.
   */
  clientAt(clientId: string, segment: string): ClientConfig {
    const { tenantId } = this.requireTenant(segment);
    const client = this.client(clientId);
    if (!client) throw errors.unknownClient(clientId, tenantId ?? segment);
    if (this.isMultiTenant(client)) return client;
    if (!tenantId) throw errors.notMultiTenant(client.clientId, client.name);
    if (this.clientTenant(client).toLowerCase() !== tenantId.toLowerCase())
      throw errors.unknownClient(clientId, tenantId);
    return client;
  }

  /** Who may sign in to `client` at `/{tenant}` (undefined: `/common` or `/organizations`). */
  usersAt(client: ClientConfig, tenant: string | undefined): UserConfig[] {
    if (tenant) return this.usersOf(tenant);
    return this.isMultiTenant(client) ? this.config.users : this.usersOf(this.clientTenant(client));
  }

  /**
   * The value of the `login_hint` optional claim: opaque base64, as Entra's (the fake's own
   * encoding of the user's oid, tenant and UPN). `logout_hint` and `login_hint` accept it.
   */
  loginHintOf(user: UserConfig): string {
    const varint = (n: number): number[] =>
      n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >> 7)];
    const field = (n: number, value: string) => {
      const bytes = Buffer.from(value, 'utf8');
      return Buffer.concat([Buffer.from([(n << 3) | 2, ...varint(bytes.length)]), bytes]);
    };
    const body = Buffer.concat([
      field(1, user.oid),
      field(2, this.userTenant(user)),
      field(3, user.upn),
    ]);
    return `O.${body.toString('base64')}`;
  }

  /** The user a `login_hint` / `logout_hint` names: a UPN (login_hint only) or a login_hint claim value. */
  userOfHint(hint: string, { upn }: { upn: boolean }): UserConfig | undefined {
    const byClaim = this.config.users.find((u) => this.loginHintOf(u) === hint);
    if (byClaim || !upn) return byClaim;
    return this.config.users.find((u) => u.upn.toLowerCase() === hint.toLowerCase());
  }

  /** Optional claims the app registration asks for in ID tokens (`optionalClaims.idToken`). */
  optionalIdTokenClaims(client: ClientConfig, user: UserConfig): Record<string, unknown> {
    const wanted = client.optionalClaims?.idToken ?? [];
    return wanted.includes('login_hint') ? { login_hint: this.loginHintOf(user) } : {};
  }

  get defaultTenant(): string {
    return this.config.tenants[0]!.id;
  }

  /** A configured tenant by id or verified domain (case-insensitive). */
  tenant(idOrDomain: string): string | undefined {
    const key = idOrDomain.toLowerCase();
    return this.config.tenants.find(
      (t) => t.id.toLowerCase() === key || t.domains.some((d) => d.toLowerCase() === key),
    )?.id;
  }

  /** Tenant from a path segment; `common`/`organizations` mean "the user's home tenant" (undefined). */
  requireTenant(segment: string): { tenantId: string | undefined } {
    const lower = segment.toLowerCase();
    if (lower === 'common' || lower === 'organizations') return { tenantId: undefined };
    const id = this.tenant(segment);
    if (!id) throw errors.tenantNotFound(segment);
    return { tenantId: id };
  }

  client(clientId: string): ClientConfig | undefined {
    return this.config.clients.find((c) => c.clientId.toLowerCase() === clientId.toLowerCase());
  }

  requireClient(clientId: string | undefined, tenant: string): ClientConfig {
    if (!clientId) throw errors.missingParameter('client_id');
    const client = this.client(clientId);
    if (!client || (client.tenant && client.tenant.toLowerCase() !== tenant.toLowerCase()))
      throw errors.unknownClient(clientId, tenant);
    return client;
  }

  clientTenant(client: ClientConfig): string {
    return client.tenant ?? this.defaultTenant;
  }

  clientObjectId(client: ClientConfig): string {
    return client.objectId ?? derivedGuid(`service-principal:${client.clientId}`);
  }

  user(upnOrOid: string): UserConfig | undefined {
    const key = upnOrOid.toLowerCase();
    return this.config.users.find(
      (u) => u.upn.toLowerCase() === key || u.oid.toLowerCase() === key,
    );
  }

  userTenant(user: UserConfig): string {
    return user.tenant ?? this.defaultTenant;
  }

  usersOf(tenant: string | undefined): UserConfig[] {
    return tenant
      ? this.config.users.filter((u) => this.userTenant(u).toLowerCase() === tenant.toLowerCase())
      : this.config.users;
  }

  graph(): ApiConfig | undefined {
    return this.config.apis.find((a) => a.clientId === GRAPH_APP_ID);
  }

  // The identities a caller means when it names none (minting, DEFAULTS): the first of each kind.

  /** The first configured API other than Microsoft Graph. */
  primaryApi(): ApiConfig | undefined {
    return this.config.apis.find((a) => a.clientId !== GRAPH_APP_ID);
  }

  /** The first configured user. */
  primaryUser(): UserConfig | undefined {
    return this.config.users[0];
  }

  /** The first client app with a redirect URI (a web app signing users in). */
  primaryWebClient(): ClientConfig | undefined {
    return this.config.clients.find((c) => c.redirectUris.length > 0);
  }

  /** The first client app holding application permissions (a daemon). */
  primaryDaemon(): ClientConfig | undefined {
    return this.config.clients.find((c) => c.appRoles.length > 0);
  }

  /** An API by client id or identifier URI. */
  api(idOrIdentifier: string): ApiConfig | undefined {
    const key = idOrIdentifier.replace(/\/+$/, '').toLowerCase();
    return this.config.apis.find(
      (a) => a.clientId.toLowerCase() === key || a.identifier.toLowerCase() === key,
    );
  }

  /**
   * Splits a delegated `scope` parameter into per-resource scope names and the OIDC scopes.
   * /authorize accepts several resources (consent for all at once, like MSAL's
   * extraScopesToConsent); only OIDC scopes mean Microsoft Graph.
   */
  resolveScopeGroups(scopeParam: string): { groups: ResolvedScopes[]; oidc: string[] } {
    const requested = scopeParam.split(/\s+/).filter(Boolean);
    const oidc = requested.filter((s) => OIDC_SCOPES.has(s.toLowerCase()));
    const groups: ResolvedScopes[] = [];
    for (const scope of requested) {
      if (OIDC_SCOPES.has(scope.toLowerCase())) continue;
      let match: { api: ApiConfig; name: string } | undefined;
      if (!scope.includes('/')) {
        const graph = this.graph();
        match = graph ? { api: graph, name: scope } : undefined;
      } else {
        match = splitPermission(this.config.apis, scope);
      }
      if (!match) throw errors.invalidScope(scope);
      let group = groups.find((g) => g.api === match.api);
      if (!group) {
        group = { api: match.api, names: [], isDefault: false, oidc };
        groups.push(group);
      }
      if (match.name === '.default') {
        group.isDefault = true;
        continue;
      }
      const known = match.api.scopes.find((s) => s.toLowerCase() === match.name.toLowerCase());
      if (!known) throw errors.invalidScope(scope);
      if (!group.names.includes(known)) group.names.push(known);
    }
    if (groups.length === 0) {
      // Only OIDC scopes: Entra issues a Microsoft Graph token.
      const graph = this.graph();
      if (!graph) throw errors.invalidScope(scopeParam || '(empty)');
      groups.push({ api: graph, names: [], isDefault: false, oidc });
    }
    return { groups, oidc };
  }

  /** Like resolveScopeGroups, for the token endpoint: one resource per request (AADSTS28000). */
  resolveScopes(scopeParam: string): ResolvedScopes {
    const { groups } = this.resolveScopeGroups(scopeParam);
    if (groups.length > 1) throw errors.multipleResources(scopeParam);
    return groups[0]!;
  }

  /** Scope names on `api` that `list` (client permissions, consents) contains. */
  private namesOn(api: ApiConfig, list: readonly string[]): string[] {
    return list.flatMap((p) => {
      const m = splitPermission([api], p);
      return m ? [m.name] : [];
    });
  }

  /**
   * The delegated permissions `user` (or an admin, tenant-wide) has granted `client`, as
   * canonical `{api client id}/{scope}` keys: the configured consents (strings: to every app;
   * objects: to that app), the tenant's admin consents, and consent given on the page.
   */
  grantedPermissions(client: ClientConfig, user: UserConfig): Set<string> {
    const tenant = this.userTenant(user);
    const sources: string[] = [];
    for (const c of user.consents) {
      if (typeof c === 'string') sources.push(c);
      else if (c.client.toLowerCase() === client.clientId.toLowerCase())
        sources.push(...c.permissions);
    }
    const tenantConfig = this.tenantConfig(tenant);
    for (const g of tenantConfig?.adminConsents ?? [])
      if (g.client.toLowerCase() === client.clientId.toLowerCase()) sources.push(...g.permissions);
    const out = new Set<string>();
    for (const p of sources) {
      const m = splitPermission(this.config.apis, p);
      if (m) out.add(permissionKey(m.api, m.name));
    }
    for (const key of this.consents.get(tenant, user.oid, client.clientId)) out.add(key);
    return out;
  }

  /** The scope names on `api` that `user` has granted `client`. */
  grantedScopes(client: ClientConfig, user: UserConfig, api: ApiConfig): string[] {
    const prefix = `${api.clientId.toLowerCase()}/`;
    return api.scopes.filter((s) => this.grantedPermissions(client, user).has(prefix + s));
  }

  /**
   * The permissions a request asks for: its named scopes, and for `{resource}/.default` the
   * app registration's permissions on that resource. OIDC scopes need no recorded consent here.
   */
  requestedPermissions(client: ClientConfig, groups: readonly ResolvedScopes[]): Permission[] {
    const out: Permission[] = [];
    const add = (api: ApiConfig, name: string) => {
      if (!out.some((p) => p.api === api && p.name === name)) out.push({ api, name });
    };
    for (const g of groups) {
      for (const name of g.names) add(g.api, name);
      if (g.isDefault) for (const name of this.registeredScopes(client, g.api)) add(g.api, name);
    }
    return out;
  }

  /**
   * What stands between a request and a code: the requested permissions `user` has not granted
   * `client` (all of them with `prompt=consent`), and whether only an admin can grant them
   * (an admin-only scope, or a tenant where users may not consent).
   */
  consentNeeded(
    client: ClientConfig,
    user: UserConfig,
    groups: readonly ResolvedScopes[],
    force = false,
  ): ConsentNeed {
    const granted = this.grantedPermissions(client, user);
    const requested = this.requestedPermissions(client, groups);
    const missing = force
      ? requested
      : requested.filter((p) => !granted.has(permissionKey(p.api, p.name)));
    const adminOnly = missing.filter((p) => p.api.adminOnlyScopes.includes(p.name));
    const usersCanConsent = this.tenantConfig(this.userTenant(user))?.usersCanConsent ?? true;
    return {
      missing,
      adminOnly,
      userMayConsent: adminOnly.length === 0 && usersCanConsent,
      blockedByTenantPolicy: !usersCanConsent,
    };
  }

  /** Records consent given on the consent page: per tenant, user and app, for the process lifetime. */
  recordConsent(client: ClientConfig, user: UserConfig, permissions: readonly Permission[]): void {
    this.consents.add(
      this.userTenant(user),
      user.oid,
      client.clientId,
      permissions.map((p) => permissionKey(p.api, p.name)),
    );
  }

  /**
   * What Entra grants `user` through `client` at the token endpoint. It never narrows: every
   * named scope must have been granted, else `invalid_grant` + `consent_required` (AADSTS65001).
   * `{resource}/.default` means every permission granted on the resource. Scopes need not be in
   * the app registration (dynamic consent), but `.default` of a resource it does not list and
   * nobody consented to is AADSTS650057.
   */
  grantDelegated(client: ClientConfig, user: UserConfig, resolved: ResolvedScopes): DelegatedGrant {
    const { api } = resolved;
    const granted = this.grantedScopes(client, user, api);
    const missing = resolved.names.filter((n) => !granted.includes(n));
    if (missing.length > 0) throw errors.consentRequired(client.clientId, client.name);
    let scopes: string[];
    if (resolved.isDefault) {
      scopes = api.scopes.filter((s) => granted.includes(s) || resolved.names.includes(s));
      if (scopes.length === 0) {
        if (this.registeredScopes(client, api).length === 0)
          throw errors.scopeNotInRegistration(`${api.identifier}/.default`);
        throw errors.consentRequired(client.clientId, client.name);
      }
    } else if (resolved.names.length > 0) {
      scopes = resolved.names;
    } else {
      // Only OIDC scopes: a Graph token with what the user granted on Graph.
      scopes = granted;
    }
    const isGraph = api.clientId === GRAPH_APP_ID;
    const responseScopes = isGraph
      ? [...scopes, ...resolved.oidc.filter((s) => s !== 'offline_access')]
      : scopes.map((n) => `${api.identifier}/${n}`);
    return { api, scopes, responseScope: responseScopes.join(' ') };
  }

  /** App roles `client` holds on `api` (client_credentials). */
  appRoles(client: ClientConfig, api: ApiConfig): string[] {
    return client.appRoles.flatMap((p) => {
      const m = splitPermission([api], p);
      return m ? [m.name] : [];
    });
  }

  /** The delegated scope names `client`'s registration lists on `api`. */
  registeredScopes(client: ClientConfig, api: ApiConfig): string[] {
    return this.namesOn(api, client.permissions);
  }

  /** The configured scope names of `user` on `api`, given to any app (minting defaults). */
  consentedScopes(user: UserConfig, api: ApiConfig): string[] {
    return this.namesOn(
      api,
      user.consents.flatMap((c) => (typeof c === 'string' ? [c] : c.permissions)),
    );
  }

  /** Redirect URI registered for `client`? Any port matches on http://localhost, as in Entra. */
  static uriMatches(registered: readonly string[], candidate: string): boolean {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      return false;
    }
    return registered.some((r) => {
      if (r === candidate) return true;
      const reg = new URL(r);
      const loopback = (u: URL) =>
        u.protocol === 'http:' &&
        (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]');
      return (
        loopback(reg) &&
        loopback(url) &&
        reg.hostname === url.hostname &&
        reg.pathname === url.pathname &&
        reg.search === url.search &&
        !url.hash
      );
    });
  }
}
