// What the routes share: the directory, keys, token factory, grants, the public URLs, and the
// test harness (recorded requests, queued hooks).
import type { AssertionReplayCache } from './client-assertion.ts';
import type { Directory } from './directory.ts';
import type { GrantStore } from './grants.ts';
import type { Hooks } from './hooks.ts';
import type { KeyStore } from './keys.ts';
import type { RequestRecorder } from './recorder.ts';
import type { DeviceCodeStore } from './routes/device-code.ts';
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
  /** Base of the Graph stub (`/v1.0/me`, `/oidc/userinfo`; graph.microsoft.com in DNS mode). */
  graphBaseUrl: string;
  /** In DNS mode, the host names of the sign-in and Graph virtual hosts. */
  virtualHosts: { login: string; graph: string } | undefined;
  /** Pending device authorizations (device code grant). */
  deviceCodes: DeviceCodeStore;
  /** jti of client assertions already accepted (each is good once). */
  assertionReplay: AssertionReplayCache;
  /** The issuer's browser sessions (SSO cookie) and signed sign-in flows. */
  sessions: IssuerSessions;
  /** Serve the /_harness/ endpoints (minting, recorded requests, hooks). */
  enableHarness: boolean;
  outage: boolean;
  recorder: RequestRecorder;
  hooks: Hooks;
}

export const SESSION_COOKIE = 'fake_entra_session';
