// The identities of the default configuration, read from config/default.json itself (so the two
// cannot diverge), for tests and services that run against the fake issuer with no configuration
// of their own. Which entry is which follows the same rules minting uses (Directory.primary*).
import { DEFAULT_CONFIG_FILE, loadConfig } from './config.ts';
import { Directory, GRAPH_APP_ID } from './directory.ts';

export interface DefaultUser {
  readonly upn: string;
  readonly oid: string;
  readonly name: string;
}

export interface DefaultIdentities {
  readonly tenantId: string;
  readonly apiClientId: string;
  /** The API's Application ID URI (`api://` + its client id). */
  readonly apiIdentifier: string;
  /** The web app's delegated permissions on the API, as it requests them (`API_SCOPES`). */
  readonly apiScopes: readonly string[];
  readonly webClientId: string;
  readonly webClientSecret: string;
  readonly webRedirectUri: string;
  /** A registered redirect URI of the web app (its home page) to return to after sign-out. */
  readonly webPostLogoutRedirectUri: string;
  /** The web app's front-channel logout URL (loaded by the sign-out page with `?sid=`). */
  readonly webFrontChannelLogoutUrl: string;
  readonly daemonClientId: string;
  readonly daemonClientSecret: string;
  /** The API docs' public single-page client (no secret; authorization code + PKCE, CORS). */
  readonly docsClientId: string;
  /** Its SPA redirect URI: Swagger UI's oauth2-redirect.html on the API (any port on localhost). */
  readonly docsRedirectUri: string;
  readonly graphClientId: string;
  readonly graphIdentifier: string;
  /** The second tenant (Fabrikam), for multi-tenant tests. */
  readonly secondTenantId: string;
  /**
   * alice consented to `data.read` and `data.write`, bob to `data.read` only (Contoso); carol
   * is of the second tenant and consented to nothing.
   */
  readonly users: {
    readonly alice: DefaultUser;
    readonly bob: DefaultUser;
    readonly carol: DefaultUser;
  };
}

function missing(what: string): never {
  throw new Error(`fake-entra: ${DEFAULT_CONFIG_FILE} has no ${what}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function deriveDefaults(directory: Directory): DefaultIdentities {
  const { config } = directory;
  const api = directory.primaryApi() ?? missing('API other than Microsoft Graph');
  const graph = directory.graph() ?? missing(`Microsoft Graph API (${GRAPH_APP_ID})`);
  const web = directory.primaryWebClient() ?? missing('client with a redirect URI');
  const daemon = directory.primaryDaemon() ?? missing('client with application permissions');
  const docs =
    config.clients.find((c) => c.spaRedirectUris.length > 0) ??
    missing('client with a single-page-app redirect URI');
  const user = (localPart: string): DefaultUser => {
    const u =
      config.users.find((x) => x.upn.split('@')[0] === localPart) ?? missing(`user ${localPart}`);
    return { upn: u.upn, oid: u.oid, name: u.name };
  };
  const secret = (c: typeof web) => c.secret ?? missing(`secret for client ${c.clientId}`);
  return deepFreeze({
    tenantId: directory.defaultTenant,
    apiClientId: api.clientId,
    apiIdentifier: api.identifier,
    apiScopes: directory.registeredScopes(web, api).map((scope) => `${api.identifier}/${scope}`),
    webClientId: web.clientId,
    webClientSecret: secret(web),
    webRedirectUri: web.redirectUris[0] ?? missing('redirect URI of the web app'),
    // The second redirect URI is the app's home page: where it asks to return after sign-out.
    webPostLogoutRedirectUri:
      web.redirectUris[1] ?? missing('second redirect URI (post-logout page) of the web app'),
    webFrontChannelLogoutUrl:
      web.frontChannelLogoutUrl ?? missing('front-channel logout URL of the web app'),
    daemonClientId: daemon.clientId,
    daemonClientSecret: secret(daemon),
    docsClientId: docs.clientId,
    docsRedirectUri: docs.spaRedirectUris[0] as string,
    graphClientId: graph.clientId,
    graphIdentifier: graph.identifier,
    secondTenantId: config.tenants[1]?.id ?? missing('second tenant'),
    users: { alice: user('alice'), bob: user('bob'), carol: user('carol') },
  });
}

export const DEFAULTS: DefaultIdentities = deriveDefaults(
  new Directory(loadConfig(DEFAULT_CONFIG_FILE)),
);
