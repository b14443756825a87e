// Sign-in (authorization code + PKCE S256, state and nonce checked) and per-resource tokens
// (acquireTokenSilent from the user's cache partition) with @azure/msal-node.
//
// Incremental consent: sign-in asks only Graph's User.Read (MSAL adds openid, profile,
// offline_access); a page asks exactly the scopes of its action (reading data.read, writing
// data.write). When that needs the user (consent, a claims challenge, an expired sign-in) the
// error says what an interactive request must ask for, and the code it returns is redeemed for
// exactly that. The app declares client capability CP1: it handles claims challenges.
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
import {
  AdminApprovalRequiredError,
  ClaimsChallengeError,
  ConsentDeclinedError,
  InteractionRequiredError,
  PageError,
  SignInError,
  TokenRejectedError,
  UpstreamError,
  aadstsCodes,
  type InteractionNeed,
} from '../errors.ts';
import type { KeyValueStore } from '../store/store.ts';
import {
  PartitionMismatchError,
  PartitionedTokenCachePlugin,
  tokenCacheKey,
} from './msal-token-cache.ts';
import { PENDING_MAX_AGE_MS, type PendingSignIn } from './pending-sign-ins.ts';

export type { PendingSignIn } from './pending-sign-ins.ts';

/** What the session keeps about a signed-in user: ids and names to show, never tokens. */
export interface SignedInUser {
  homeAccountId: string;
  name: string;
  username: string;
  /** The user's home tenant (`tid`). */
  tenantId: string;
  /** The issuer session (ID token `sid`): front-channel logout names it. */
  sid?: string | undefined;
  /** The ID token's `login_hint` optional claim: the logout_hint (and login_hint) to send. */
  loginHint?: string | undefined;
  signedInAt: number;
  /** The last interactive request an action needed, and when it completed (loop guard). */
  lastInteraction?: { key: string; at: number } | undefined;
  /**
   * When a silent request for the write permission last found it not consented (AADSTS65001):
   * pages then show "Allow writing" without asking Entra again for a while (routes/access.ts).
   * An interactive request's answer makes a new user object, without it.
   */
  writeConsentMissingAt?: number | undefined;
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

/** What a sign-in (or an interactive request for a signed-in user) asks for. */
export interface SignInRequest {
  returnTo: string;
  /** Default: a first sign-in, Graph's scopes. */
  resource?: Resource | undefined;
  scopes?: readonly string[] | undefined;
  claims?: string | undefined;
  loginHint?: string | undefined;
  forUser?: string | undefined;
  need?: InteractionNeed | undefined;
  interactionKey?: string | undefined;
  resumeWrite?: string | undefined;
}

export interface TokenOptions {
  /** A claims challenge to satisfy (skips the cache, as MSAL does for any claims). */
  claims?: string | undefined;
  /** A new token even though the cached one has not expired (the resource refused it). */
  forceRefresh?: boolean | undefined;
}

/** What a sign-in answer gave: the user, and the kept write to resume, if any. */
export interface CompletedSignIn {
  user: SignedInUser;
  /** The user was signed in already and this was an interactive request for an action. */
  sameUser: boolean;
}

/** Client capabilities this app declares: CP1 = it handles claims challenges (CAE). */
const CLIENT_CAPABILITIES = ['CP1'];
const random = () => randomBytes(32).toString('base64url');
const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

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

  /** The scopes each kind of action asks for. */
  get scopes(): {
    graph: readonly string[];
    apiRead: readonly string[];
    apiWrite: readonly string[];
  } {
    return {
      graph: this.#config.graphScopes,
      apiRead: this.#config.apiReadScopes,
      apiWrite: this.#config.apiWriteScopes,
    };
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

  /** The origin of the issuer's sign-out page: the only one that may frame front-channel logout. */
  signOutPageOrigin(): string | undefined {
    const m = this.#knownMetadata;
    const url = m?.end_session_endpoint ?? m?.authorization_endpoint;
    return url ? new URL(url).origin : undefined;
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
        clientCapabilities: CLIENT_CAPABILITIES,
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

  /** Step 1: the URL to send the browser to, and what to keep until it comes back. */
  async beginSignIn(request: SignInRequest): Promise<{ url: string; pending: PendingSignIn }> {
    const { verifier, challenge } = await this.#crypto.generatePkceCodes();
    const resource = request.resource ?? 'graph';
    const scopes = [...(request.scopes ?? this.#config.graphScopes)];
    const pending: PendingSignIn = {
      state: random(),
      nonce: random(),
      codeVerifier: verifier,
      returnTo: request.returnTo,
      startedAt: Date.now(),
      resource,
      scopes,
      claims: request.claims,
      forUser: request.forUser,
      need: request.need,
      interactionKey: request.interactionKey,
      resumeWrite: request.resumeWrite,
    };
    const { app } = await this.#client(undefined);
    const url = await app.getAuthCodeUrl({
      // Exactly what the action needs: one resource's scopes (Entra issues one token per
      // resource; consent is asked for these only).
      scopes,
      redirectUri: this.#config.redirectUri,
      responseMode: ResponseMode.QUERY,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      ...(request.claims ? { claims: request.claims } : {}),
      ...(request.loginHint ? { loginHint: request.loginHint } : {}),
    });
    return { url, pending };
  }

  /**
   * Step 2: check the answer against the pending sign-in and redeem the code for what it asked.
   * `signedIn` is the session's current user, if any: an interactive request for their action
   * must come back with the same account.
   */
  async completeSignIn(
    query: Record<string, unknown>,
    pending: PendingSignIn | undefined,
    signedIn: SignedInUser | undefined,
    kept?: string,
  ): Promise<CompletedSignIn> {
    const str = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
    if (!pending) {
      throw new SignInError(
        'no_pending_sign_in',
        'This sign-in answer does not belong to a sign-in started in this browser (or it was already used, or it took longer than 10 minutes).',
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
    if (error) throw this.#issuerError(error, str, pending, signedIn, kept);
    const code = str('code');
    if (!code)
      throw new SignInError('no_code', 'The sign-in answer carries no authorization code.');

    // An interactive request for a signed-in user's action adds to their cache partition (the
    // plugin refuses to write another account's tokens there).
    const forUser =
      pending.forUser && signedIn?.homeAccountId === pending.forUser ? pending.forUser : undefined;
    const { app } = await this.#client(forUser);
    let result: AuthenticationResult;
    try {
      result = await app.acquireTokenByCode(
        {
          code,
          scopes: pending.scopes,
          redirectUri: this.#config.redirectUri,
          codeVerifier: pending.codeVerifier,
          state: pending.state,
          nonce: pending.nonce,
          ...(pending.claims ? { claims: pending.claims } : {}),
        },
        { code, state },
      );
    } catch (err) {
      this.#observe(pending.resource, 'error');
      if (err instanceof PartitionMismatchError) {
        throw new SignInError(
          'other_account',
          'You signed in with another account than the one signed in to this app.',
          { cause: err },
        );
      }
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
    this.#observe(pending.resource, 'network');
    const account = result.account;
    const sameUser = forUser !== undefined && account.homeAccountId === forUser;
    return {
      sameUser,
      user: {
        homeAccountId: account.homeAccountId,
        name: account.name ?? text(claims.name) ?? '',
        username: account.username,
        tenantId: account.tenantId || text(claims.tid) || '',
        sid: text(claims.sid),
        loginHint: text(claims.login_hint),
        signedInAt: sameUser && signedIn ? signedIn.signedInAt : Date.now(),
        ...(sameUser && pending.interactionKey
          ? { lastInteraction: { key: pending.interactionKey, at: Date.now() } }
          : {}),
      },
    };
  }

  /** The issuer answered with an error instead of a code: say what it means for the person. */
  #issuerError(
    error: string,
    str: (k: string) => string | undefined,
    pending: PendingSignIn,
    signedIn: SignedInUser | undefined,
    kept: string | undefined,
  ): PageError {
    const description = (str('error_description') ?? '').split(/\r?\n/)[0]?.slice(0, 300) ?? '';
    const codes = aadstsCodes(description);
    const forAction = pending.forUser !== undefined && signedIn?.homeAccountId === pending.forUser;
    if (error === 'access_denied') {
      const admin = codes.find((c) => c === '90094' || c === '90093');
      // Entra names the admin-approval cases by code; Cancel on the consent page is AADSTS65004
      // (error_subcode=cancel).
      if (admin) return new AdminApprovalRequiredError(pending.scopes, admin, kept);
      if (codes.includes('65004') || str('error_subcode') === 'cancel')
        return new ConsentDeclinedError(pending.scopes, forAction, kept);
    }
    const sign = new SignInError(
      `issuer_${error}`,
      `The sign-in service reported “${error}”${description ? `: ${description}` : ''}.`,
    );
    if (codes.includes('50194')) {
      // A single-tenant registration asked through /organizations or /common.
      return new PageError(
        400,
        sign.title,
        sign.detail,
        'The app is configured for users of any organization (TENANT_ID organizations or common), but its registration is single-tenant: make the registration multi-tenant, or set TENANT_ID to its tenant id.',
      );
    }
    return sign;
  }

  /**
   * An access token for `scopes` of one resource, from the cache or refreshed silently. When
   * that needs the user, throws InteractionRequiredError naming what the interactive request
   * must ask for (these scopes; the claims Entra sent).
   */
  async accessToken(
    user: Pick<SignedInUser, 'homeAccountId'>,
    resource: Resource,
    scopes: readonly string[],
    options: TokenOptions = {},
  ): Promise<AuthenticationResult> {
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
      throw new InteractionRequiredError('no_cached_account', {
        need: 'sign-in',
        resource,
        scopes,
      });
    }
    try {
      const result = await app.acquireTokenSilent({
        account,
        scopes: [...scopes],
        ...(options.claims ? { claims: options.claims } : {}),
        ...(options.forceRefresh ? { forceRefresh: true } : {}),
      });
      this.#observe(resource, result.fromCache ? 'cache' : 'network');
      return result;
    } catch (err) {
      if (
        err instanceof InteractionRequiredAuthError ||
        (err instanceof ServerError && err.errorCode === 'invalid_grant')
      ) {
        this.#observe(resource, 'interaction_required');
        const e = err as AuthError & { claims?: string };
        const codes = aadstsCodes(e.errorMessage);
        const reason = [e.errorCode || 'interaction_required', e.subError]
          .filter(Boolean)
          .join('/')
          .concat(codes.length ? ` (AADSTS${codes[0]})` : '');
        const claims = e.claims || options.claims;
        const need: InteractionNeed =
          e.subError === 'consent_required' ||
          e.errorCode === 'consent_required' ||
          codes.includes('65001')
            ? 'consent'
            : claims ||
                ['basic_action', 'additional_action', 'message_only'].includes(e.subError) ||
                codes.some((c) => ['50076', '50079', '50158'].includes(c))
              ? 'step-up'
              : 'sign-in';
        throw new InteractionRequiredError(
          reason,
          { need, resource, scopes, claims },
          { cause: err },
        );
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

  /**
   * Calls `use` with an access token for `scopes`, and follows what the resource answers: a
   * claims challenge (401 insufficient_claims from the API or Graph) with one request for those
   * claims (interactive when Entra needs the user: InteractionRequiredError), a token refused
   * for no stated version or size reason with one fresh token. `use` throws the typed errors of
   * upstream.ts (ClaimsChallengeError, TokenRejectedError).
   */
  async withAccessToken<T>(
    user: Pick<SignedInUser, 'homeAccountId'>,
    resource: Resource,
    scopes: readonly string[],
    use: (accessToken: string) => Promise<T>,
  ): Promise<T> {
    const first = await this.accessToken(user, resource, scopes);
    try {
      return await use(first.accessToken);
    } catch (err) {
      let retry: TokenOptions;
      if (err instanceof ClaimsChallengeError) retry = { claims: err.claims };
      else if (err instanceof TokenRejectedError && err.kind === 'other')
        retry = { forceRefresh: true };
      else throw err;
      this.#log.info(
        { resource, challenge: err instanceof ClaimsChallengeError ? 'claims' : 'token rejected' },
        'the resource refused the token: asking for a new one',
      );
      const second = await this.accessToken(user, resource, scopes, retry);
      return use(second.accessToken);
    }
  }

  /** Removes the user's token cache partition (sign-out). */
  async forget(homeAccountId: string): Promise<void> {
    await this.#store.delete(tokenCacheKey(homeAccountId));
  }

  /**
   * The issuer's end-session URL, returning to POST_LOGOUT_REDIRECT_URI (one of the app's
   * registered redirect URIs: Entra returns nowhere else), with the ID token's `login_hint`
   * claim as `logout_hint` so that Entra signs that account out without an account picker.
   */
  async endSessionUrl(user?: Pick<SignedInUser, 'loginHint'>): Promise<string> {
    const metadata = await this.issuerMetadata();
    const url = new URL(
      metadata.end_session_endpoint ?? `${this.#config.authority}/oauth2/v2.0/logout`,
    );
    url.searchParams.set('post_logout_redirect_uri', this.#config.postLogoutRedirectUri);
    url.searchParams.set('client_id', this.#config.clientId);
    if (user?.loginHint) url.searchParams.set('logout_hint', user.loginHint);
    return url.toString();
  }
}
