// Authorization codes and refresh tokens: opaque random strings mapped to what they grant,
// kept in memory (a restart of the fake invalidates them, as a revocation would).
import { randomBytes } from 'node:crypto';
import type { AuthState } from './tokens.ts';

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  userOid: string;
  tenant: string;
  scope: string;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  expiresAt: number;
  redeemed: boolean;
  /** The issuer session's id (the `sid` of the ID tokens), when signed in through a session. */
  sid?: string;
  /** How the user signed in (second factor, address); undefined means a password. */
  auth?: AuthState;
  /** The authorize request's `claims` parameter (acrs, client capabilities). */
  claims?: string;
}

export interface RefreshGrant {
  clientId: string;
  userOid: string;
  tenant: string;
  expiresAt: number;
  /** The issuer session's id, carried into the ID tokens of refreshes. */
  sid?: string;
  /** How the user signed in; a refresh token keeps its sign-in's second factor. */
  auth?: AuthState;
  /** Issued to a single-page app: its expiry is fixed at the sign-in's, refreshes never extend it. */
  spa?: boolean;
}

/** Entra: refresh tokens issued to single-page apps are valid for 24 hours, not extended by use. */
export const SPA_REFRESH_TOKEN_SECONDS = 24 * 60 * 60;

class ExpiringStore<T extends { expiresAt: number }> {
  readonly #items = new Map<string, T>();
  readonly #keepAfterExpiry: number;

  constructor(keepAfterExpiryMs: number) {
    this.#keepAfterExpiry = keepAfterExpiryMs;
  }

  add(prefix: string, value: T): string {
    if (this.#items.size > 10_000) this.sweep();
    const key = prefix + randomBytes(48).toString('base64url');
    this.#items.set(key, value);
    return key;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.#keepAfterExpiry;
    for (const [k, v] of this.#items) if (v.expiresAt < cutoff) this.#items.delete(k);
  }
}

export class GrantStore {
  // Expired entries are kept a while so that their use is reported as "expired", not "invalid".
  readonly codes = new ExpiringStore<AuthorizationCode>(60 * 60 * 1000);
  readonly refreshTokens = new ExpiringStore<RefreshGrant>(24 * 60 * 60 * 1000);
}
