// What the routes share: the directory, keys, token factory, grants, the public URLs, and the
// test harness (recorded requests, queued hooks).
import type { Directory } from './directory.ts';
import type { GrantStore } from './grants.ts';
import type { Hooks } from './hooks.ts';
import type { KeyStore } from './keys.ts';
import type { RequestRecorder } from './recorder.ts';
import type { IssuerSessions } from './sessions.ts';
import type { TokenFactory } from './tokens.ts';

export type Counter = 'discovery' | 'jwks' | 'authorize' | 'token' | 'graph' | 'logout';

export interface Harness {
  directory: Directory;
  keys: KeyStore;
  tokens: TokenFactory;
  grants: GrantStore;
  /** Base of issuer, token, JWKS URLs (https). */
  baseUrl: string;
  /** Base of the browser-facing authorize and logout URLs. */
  publicUrl: string;
  issuer(tenant: string): string;
  count(counter: Counter): void;
  /** Base of the Graph stub (`/v1.0/me`, `/oidc/userinfo`). */
  graphBaseUrl: string;
  /** The issuer's browser sessions (SSO cookie) and signed sign-in flows. */
  sessions: IssuerSessions;
  /** Serve the /_harness/ endpoints (minting, recorded requests, hooks). */
  enableHarness: boolean;
  outage: boolean;
  recorder: RequestRecorder;
  hooks: Hooks;
}

export const SESSION_COOKIE = 'fake_entra_session';
