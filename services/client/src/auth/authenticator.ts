// Sign-in (authorization code + PKCE S256, state and nonce checked) and per-resource tokens
// (acquireTokenSilent from the user's cache partition) with @azure/msal-node.
//
// One client configuration per process; the MSAL client object is created per operation and
// bound to one user's cache partition, because MSAL's in-memory cache is a single mutable store
// per object (acquireTokenSilent clears and reloads it), which concurrent requests of different
// users must not share. The issuer's metadata is fetched once per process and handed to MSAL
// (`authorityMetadata`), so creating a client object costs no network round trip.
import { randomBytes } from 'node:crypto';
import {
  AuthError,
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  LogLevel,
  ResponseMode,
  ServerError,
  type AccountInfo,
  type AuthenticationResult,
  type Configuration,
} from '@azure/msal-node';
import type { Logger } from 'pino';
import { constantTimeEqual } from '@koa-entra/service-kit';
import type { WebAppConfig } from '../config.ts';
import { InteractionRequiredError, SignInError, UpstreamError } from '../errors.ts';
import type { KeyValueStore } from '../store/store.ts';
import { PartitionedTokenCachePlugin, tokenCacheKey } from './msal-token-cache.ts';

/** What the session keeps between /auth/signin and /auth/redirect (server-side only). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  startedAt: number;
  /** Started because MSAL needed interaction for a signed-in user (loop guard). */
  reauthentication: boolean;
}

/** What the session keeps about a signed-in user: ids and names to show, never tokens. */
export interface SignedInUser {
  homeAccountId: string;
  name: string;
  username: string;
  signedInAt: number;
  /** This sign-in was a re-authentication asked for by MSAL (interaction required). */
  reauthentication: boolean;
}

export type Resource = 'graph' | 'api';

export interface IssuerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
  jwks_uri: string;
  [k: string]: unknown;
}

export interface TokenObserver {
  (resource: Resource, outcome: 'cache' | 'network' | 'interaction_required' | 'error'): void;
}

const PENDING_MAX_AGE_MS = 10 * 60 * 1000;
const random = () => randomBytes(32).toString('base64url');

export class Authenticator {
  readonly #config: WebAppConfig;
  readonly #store: KeyValueStore;
  readonly #log: Logger;
  readonly #observe: TokenObserver;
  readonly #crypto = new CryptoProvider();
  #metadata: Promise<IssuerMetadata> | undefined;
  #knownMetadata: IssuerMetadata | undefined;

  constructor(
    config: WebAppConfig,
    store: KeyValueStore,
    log: Logger,
    observe: TokenObserver = () => {},
  ) {
    this.#config = config;
    this.#store = store;
    this.#log = log;
    this.#observe = observe;
  }

  /** The issuer's OpenID configuration, fetched once per process (retried after a failure). */
  issuerMetadata(): Promise<IssuerMetadata> {
    this.#metadata ??= this.#fetchMetadata()
      .then((m) => (this.#knownMetadata = m))
      .catch((error: unknown) => {
        this.#metadata = undefined;
        throw error;
      });
    return this.#metadata;
  }

  /** The browser-facing origins of the issuer (sign-in and sign-out pages), once known. */
  issuerPageOrigins(): string[] {
    const m = this.#knownMetadata;
    if (!m) return [];
    return [
      ...new Set(
        [m.authorization_endpoint, m.end_session_endpoint ?? m.authorization_endpoint].map(
          (u) => new URL(u).origin,
        ),
      ),
    ];
  }

  async #fetchMetadata(): Promise<IssuerMetadata> {
    const url = `${this.#config.authority}/v2.0/.well-known/openid-configuration`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.#config.upstreamTimeoutMs) });
    } catch (error) {
      throw new UpstreamError(
        'The sign-in service',
        `Its configuration could not be fetched (${(error as Error).message}).`,
        { cause: error },
      );
    }
    if (!response.ok) {
      throw new UpstreamError(
        'The sign-in service',
        `Its configuration answered HTTP ${response.status}.`,
      );
    }
    const body = (await response.json()) as Partial<IssuerMetadata>;
    for (const field of [
      'issuer',
      'authorization_endpoint',
      'token_endpoint',
      'jwks_uri',
    ] as const) {
      if (typeof body[field] !== 'string') {
        throw new UpstreamError('The sign-in service', `Its configuration has no ${field}.`);
      }
    }
    return body as IssuerMetadata;
  }

  async #client(
    partition: string | undefined,
  ): Promise<{ app: ConfidentialClientApplication; plugin: PartitionedTokenCachePlugin }> {
    const metadata = await this.issuerMetadata();
    const plugin = new PartitionedTokenCachePlugin(
      this.#store,
      partition,
      this.#config.sessionAbsoluteTimeoutSeconds,
    );
    const log = this.#log;
    const configuration: Configuration = {
      auth: {
        clientId: this.#config.clientId,
        clientSecret: this.#config.clientSecret,
        authority: this.#config.authority,
        knownAuthorities: this.#config.knownAuthorities,
        authorityMetadata: JSON.stringify(metadata),
      },
      cache: { cachePlugin: plugin },
      system: {
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (level, message) => {
            if (level <= LogLevel.Error) log.error({ msal: message }, 'msal');
            else log.warn({ msal: message }, 'msal');
          },
        },
      },
    };
    return { app: new ConfidentialClientApplication(configuration), plugin };
  }

  /** Step 1: the URL to send the browser to, and what to keep in the session until it comes back. */
  async beginSignIn(
    returnTo: string,
    options: { loginHint?: string | undefined; reauthentication?: boolean } = {},
  ): Promise<{ url: string; pending: PendingSignIn }> {
    const { loginHint, reauthentication = false } = options;
    const { verifier, challenge } = await this.#crypto.generatePkceCodes();
    const pending: PendingSignIn = {
      state: random(),
      nonce: random(),
      codeVerifier: verifier,
      returnTo,
      startedAt: Date.now(),
      reauthentication,
    };
    const { app } = await this.#client(undefined);
    const url = await app.getAuthCodeUrl({
      scopes: this.#config.graphScopes,
      // Graph and the API are different resources: one token per resource, consent for both now.
      extraScopesToConsent: this.#config.apiScopes,
      redirectUri: this.#config.redirectUri,
      responseMode: ResponseMode.QUERY,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      ...(loginHint ? { loginHint } : {}),
    });
    return { url, pending };
  }

  /** Step 2: check the answer against the pending sign-in and redeem the code. */
  async completeSignIn(
    query: Record<string, unknown>,
    pending: PendingSignIn | undefined,
  ): Promise<SignedInUser> {
    const str = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
    if (!pending) {
      throw new SignInError(
        'no_pending_sign_in',
        'This sign-in answer does not belong to a sign-in started in this browser (or it was already used).',
      );
    }
    if (Date.now() - pending.startedAt > PENDING_MAX_AGE_MS) {
      throw new SignInError('sign_in_expired', 'The sign-in took too long and has expired.');
    }
    const state = str('state');
    if (!state || !constantTimeEqual(state, pending.state)) {
      throw new SignInError(
        'state_mismatch',
        'The sign-in answer does not match the sign-in this browser started (state mismatch).',
      );
    }
    const error = str('error');
    if (error) {
      const description = (str('error_description') ?? '').split(/\r?\n/)[0]?.slice(0, 300) ?? '';
      throw new SignInError(
        `issuer_${error}`,
        `The sign-in service reported “${error}”${description ? `: ${description}` : ''}.`,
      );
    }
    const code = str('code');
    if (!code)
      throw new SignInError('no_code', 'The sign-in answer carries no authorization code.');

    const { app } = await this.#client(undefined);
    let result: AuthenticationResult;
    try {
      result = await app.acquireTokenByCode(
        {
          code,
          scopes: this.#config.graphScopes,
          redirectUri: this.#config.redirectUri,
          codeVerifier: pending.codeVerifier,
          state: pending.state,
          nonce: pending.nonce,
        },
        { code, state },
      );
    } catch (err) {
      this.#observe('graph', 'error');
      throw new SignInError(
        err instanceof AuthError ? `redeem_${err.errorCode}` : 'redeem_failed',
        `The authorization code could not be redeemed${err instanceof AuthError ? ` (${err.errorCode})` : ''}.`,
        { cause: err },
      );
    }
    // MSAL already compared the ID token's nonce (the request carries one); compare again so a
    // library change can never silently drop the check.
    const claims = (result.idTokenClaims ?? {}) as Record<string, unknown>;
    if (typeof claims.nonce !== 'string' || !constantTimeEqual(claims.nonce, pending.nonce)) {
      throw new SignInError(
        'nonce_mismatch',
        'The ID token does not belong to this sign-in (nonce mismatch).',
      );
    }
    if (!result.account)
      throw new SignInError('no_account', 'The sign-in service returned no account.');
    this.#observe('graph', 'network');
    return {
      homeAccountId: result.account.homeAccountId,
      name: result.account.name ?? (typeof claims.name === 'string' ? claims.name : ''),
      username: result.account.username,
      signedInAt: Date.now(),
      reauthentication: pending.reauthentication === true,
    };
  }

  /** An access token for one resource, from the cache or refreshed silently. */
  async accessToken(
    user: Pick<SignedInUser, 'homeAccountId'>,
    resource: Resource,
  ): Promise<AuthenticationResult> {
    const scopes = resource === 'graph' ? this.#config.graphScopes : this.#config.apiScopes;
    const { app } = await this.#client(user.homeAccountId);
    let account: AccountInfo | null;
    try {
      account = await app.getTokenCache().getAccountByHomeId(user.homeAccountId);
    } catch (err) {
      this.#observe(resource, 'error');
      throw err;
    }
    if (!account) {
      this.#observe(resource, 'interaction_required');
      throw new InteractionRequiredError('no_cached_account');
    }
    try {
      const result = await app.acquireTokenSilent({ account, scopes });
      this.#observe(resource, result.fromCache ? 'cache' : 'network');
      return result;
    } catch (err) {
      if (
        err instanceof InteractionRequiredAuthError ||
        (err instanceof ServerError && err.errorCode === 'invalid_grant')
      ) {
        this.#observe(resource, 'interaction_required');
        const e = err as AuthError;
        const reason = [e.errorCode || 'interaction_required', e.subError]
          .filter(Boolean)
          .join('/');
        throw new InteractionRequiredError(reason, { cause: err });
      }
      this.#observe(resource, 'error');
      if (err instanceof AuthError) {
        throw new UpstreamError(
          'The sign-in service',
          `A token could not be obtained (${err.errorCode}).`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Removes the user's token cache partition (sign-out). */
  async forget(homeAccountId: string): Promise<void> {
    await this.#store.delete(tokenCacheKey(homeAccountId));
  }

  /** The issuer's end-session URL that returns to POST_LOGOUT_REDIRECT_URI. */
  async endSessionUrl(): Promise<string> {
    const metadata = await this.issuerMetadata();
    const url = new URL(
      metadata.end_session_endpoint ?? `${this.#config.authority}/oauth2/v2.0/logout`,
    );
    url.searchParams.set('post_logout_redirect_uri', this.#config.postLogoutRedirectUri);
    url.searchParams.set('client_id', this.#config.clientId);
    return url.toString();
  }
}
