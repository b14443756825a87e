// Lookups over the validated configuration: tenants, client apps, users, APIs, and the rules
// that turn a requested `scope` parameter into what Entra would grant.
import { createHash } from 'node:crypto';
import {
  splitPermission,
  type ApiConfig,
  type ClientConfig,
  type HarnessConfig,
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

  constructor(config: HarnessConfig) {
    this.config = config;
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

  /** Scope names on `api` that `list` (client permissions or user consents) contains. */
  private namesOn(api: ApiConfig, list: readonly string[]): string[] {
    return list.flatMap((p) => {
      const m = splitPermission([api], p);
      return m ? [m.name] : [];
    });
  }

  /**
   * What Entra grants `user` through `client`: requested ∩ app registration ∩ the user's consent.
   * Asking for resource scopes of which none is consented fails with consent_required.
   */
  grantDelegated(client: ClientConfig, user: UserConfig, resolved: ResolvedScopes): DelegatedGrant {
    const { api } = resolved;
    const registered = this.namesOn(api, client.permissions);
    const consented = this.namesOn(api, user.consents);
    let wanted: string[];
    if (resolved.isDefault || resolved.names.length === 0) {
      wanted = registered;
    } else {
      for (const name of resolved.names) {
        if (!registered.includes(name))
          throw errors.scopeNotInRegistration(`${api.identifier}/${name}`);
      }
      wanted = resolved.names;
    }
    const scopes = wanted.filter((n) => consented.includes(n));
    const askedForResource = resolved.isDefault || resolved.names.length > 0;
    if (askedForResource && scopes.length === 0)
      throw errors.consentRequired(client.clientId, client.name);
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

  /** The configured scope names of `user` on `api`. */
  consentedScopes(user: UserConfig, api: ApiConfig): string[] {
    return this.namesOn(api, user.consents);
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
