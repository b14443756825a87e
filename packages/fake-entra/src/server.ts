// FakeEntra: starts the fake issuer (in-process for tests, or from cli.ts) on one port that
// serves TLS and plain HTTP, and exposes helpers to mint tokens, drive key rotation/outages, and
// the test harness (recorded requests, queued one-shot answers, a scripted sign-in).
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createApp } from './app.ts';
import { AssertionReplayCache } from './client-assertion.ts';
import { loadConfig, type FakeEntraConfig } from './config.ts';
import type { Counter, Harness } from './context.ts';
import { Directory } from './directory.ts';
import { GrantStore } from './grants.ts';
import {
  Hooks,
  type GraphCallback,
  type PendingHook,
  type QueuedError,
  type TokenCallback,
} from './hooks.ts';
import { KeyStore } from './keys.ts';
import { createDualListener, type DualListener } from './listener.ts';
import { RequestRecorder, type RecordedRequest, type RequestFilter } from './recorder.ts';
import { DeviceCodeStore } from './routes/device-code.ts';
import { openIssuerSession, type OpenedSession } from './routes/harness.ts';
import { IssuerSessions } from './sessions.ts';
import { completeSignIn, type SignInOptions, type SignInResult } from './sign-in.ts';
import {
  ensureCertificateAuthority,
  issueServerCertificate,
  type ServerCertificate,
} from './tls.ts';
import {
  DEFAULT_LIFETIMES,
  TokenFactory,
  type BrokenTokenKind,
  type Lifetimes,
  type MintOptions,
} from './tokens.ts';

export interface FakeEntraOptions {
  /** Configuration object or path to a JSON file; default the package's config/default.json. */
  config?: FakeEntraConfig | string;
  /** Listen port; default 0 (any free port). */
  port?: number;
  /** Listen address; default all interfaces. */
  host?: string;
  /** Base of issuer/token/JWKS URLs; default https://localhost:{port}. */
  issuerUrl?: string;
  /** Base of the browser-facing authorize/logout URLs; default http://localhost:{port}. */
  publicUrl?: string;
  /**
   * Where the server certificate comes from: a CA directory (`ca.pem` + `ca-key.pem`, created if
   * missing) that signs one, or certificate files. Default `{ caDir: '.certs' }`, relative to the
   * current directory. Clients trust the CA through NODE_EXTRA_CA_CERTS (read at process start).
   */
  tls?: { caDir?: string } | { certFile: string; keyFile: string };
  /** Extra DNS names (or IPs) in the server certificate, e.g. 'fake-entra'. */
  tlsHostnames?: string[];
  /**
   * Lifetimes in seconds, over the configuration's `lifetimes` and Entra's defaults (access
   * tokens 60-90 minutes at random, refresh tokens 90 days, iat/nbf backdated 300 s).
   */
  lifetimes?: Partial<Lifetimes>;
  /**
   * DNS mode: answer as login.microsoftonline.com and graph.microsoft.com (separate virtual
   * hosts, one certificate for both names), so that unmodified apps run against the fake once
   * those names resolve to it and its CA is trusted. Default port 443; the URLs become
   * `https://{loginHost}` (issuer and browser pages) and `https://{graphHost}` (Graph).
   */
  dnsMode?: boolean | { loginHost?: string; graphHost?: string };
  /**
   * Serve the test harness over HTTP under /_harness/ (minting, recorded requests, queued
   * answers). Off by default; never in a shared deployment (recorded requests hold secrets).
   */
  enableHarness?: boolean;
  /** @deprecated The old name of `enableHarness` (it served minting only); use `enableHarness`. */
  enableMinting?: boolean;
}

const COUNTERS: readonly Counter[] = ['discovery', 'jwks', 'authorize', 'token', 'graph', 'logout'];

/** The CA directory used when `tls` names none: `.certs` in the current directory. */
export const DEFAULT_CA_DIR = '.certs';

// Server certificates are reused within a process (tests start many instances).
const certificateCache = new Map<string, Promise<ServerCertificate & { caCertFile: string }>>();

function serverCertificate(
  options: FakeEntraOptions,
): Promise<ServerCertificate & { caCertFile: string }> {
  const tls = options.tls ?? {};
  if ('certFile' in tls) {
    return Promise.resolve({
      certPem: readFileSync(tls.certFile, 'utf8'),
      keyPem: readFileSync(tls.keyFile, 'utf8'),
      caCertFile: resolve(tls.certFile),
    });
  }
  const caDir = resolve(tls.caDir ?? DEFAULT_CA_DIR);
  const hostnames = [...new Set(options.tlsHostnames ?? [])].sort();
  const key = JSON.stringify([caDir, hostnames]);
  let cert = certificateCache.get(key);
  if (!cert) {
    cert = (async () => {
      const ca = await ensureCertificateAuthority(caDir);
      const issued = await issueServerCertificate(ca, hostnames);
      // The chain names its CA, so that a browser can be told to trust that key alone
      // (Chromium's --ignore-certificate-errors-spki-list) without importing it.
      return { ...issued, certPem: issued.certPem + ca.certPem, caCertFile: ca.certFile };
    })();
    cert.catch(() => certificateCache.delete(key));
    certificateCache.set(key, cert);
  }
  return cert;
}

function trimUrl(url: string, name: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${name} is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error(`${name} must be http(s): ${url}`);
  return url.replace(/\/+$/, '');
}

const LIFETIME_NAMES = new Set(Object.keys(DEFAULT_LIFETIMES));

function validLifetimes(l: Partial<Lifetimes> | undefined): Partial<Lifetimes> {
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  for (const [k, v] of Object.entries(l ?? {})) {
    if (v === undefined) continue;
    if (!LIFETIME_NAMES.has(k))
      throw new Error(
        `lifetimes.${k} is not a lifetime (known: ${[...LIFETIME_NAMES].join(', ')})`,
      );
    if (k === 'backdate') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new Error(`lifetimes.backdate must be 0 or more seconds, got ${String(v)}`);
      continue;
    }
    if (k === 'accessToken' && typeof v === 'object' && v !== null) {
      const { min, max } = v as { min?: unknown; max?: unknown };
      if (!positive(min) || !positive(max) || (min as number) > (max as number))
        throw new Error(
          `lifetimes.accessToken must be seconds or { min, max } with 0 < min <= max, got ${JSON.stringify(v)}`,
        );
      continue;
    }
    if (!positive(v))
      throw new Error(`lifetimes.${k} must be a positive number of seconds, got ${String(v)}`);
  }
  return Object.fromEntries(Object.entries(l ?? {}).filter(([, v]) => v !== undefined));
}

export const DNS_MODE_HOSTS = {
  loginHost: 'login.microsoftonline.com',
  graphHost: 'graph.microsoft.com',
} as const;

function dnsHosts(
  option: FakeEntraOptions['dnsMode'],
): { login: string; graph: string } | undefined {
  if (!option) return undefined;
  const o = option === true ? {} : option;
  const login = (o.loginHost ?? DNS_MODE_HOSTS.loginHost).toLowerCase();
  const graph = (o.graphHost ?? DNS_MODE_HOSTS.graphHost).toLowerCase();
  if (login === graph) throw new Error('dnsMode: loginHost and graphHost must differ');
  return { login, graph };
}

export class FakeEntra {
  readonly port: number;
  readonly baseUrl: string;
  readonly publicUrl: string;
  readonly tenantId: string;
  readonly caCertFile: string;
  readonly graphBaseUrl: string;
  readonly #h: Harness;
  readonly #listener: DualListener;
  readonly #counts: Record<Counter, number>;

  private constructor(
    h: Harness,
    listener: DualListener,
    port: number,
    caCertFile: string,
    counts: Record<Counter, number>,
  ) {
    this.#h = h;
    this.#listener = listener;
    this.#counts = counts;
    this.port = port;
    this.baseUrl = h.baseUrl;
    this.publicUrl = h.publicUrl;
    this.graphBaseUrl = h.graphBaseUrl;
    this.tenantId = h.directory.defaultTenant;
    this.caCertFile = caCertFile;
  }

  static async start(options: FakeEntraOptions = {}): Promise<FakeEntra> {
    if (options.issuerUrl) trimUrl(options.issuerUrl, 'issuerUrl');
    if (options.publicUrl) trimUrl(options.publicUrl, 'publicUrl');
    const config = loadConfig(options.config);
    const directory = new Directory(config);
    const lifetimes: Lifetimes = {
      ...DEFAULT_LIFETIMES,
      ...(config.lifetimes as Partial<Lifetimes>),
      ...validLifetimes(options.lifetimes),
    };
    const hosts = dnsHosts(options.dnsMode);
    const tlsHostnames = [
      ...(options.tlsHostnames ?? []),
      ...(hosts ? [hosts.login, hosts.graph] : []),
    ];
    const [keys, cert] = await Promise.all([
      KeyStore.create(),
      serverCertificate({ ...options, tlsHostnames }),
    ]);
    const counts = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;
    const h: Harness = {
      directory,
      keys,
      grants: new GrantStore(),
      baseUrl: '',
      publicUrl: '',
      graphBaseUrl: '',
      virtualHosts: hosts,
      deviceCodes: new DeviceCodeStore(),
      assertionReplay: new AssertionReplayCache(),
      issuer: (tenant) => `${h.baseUrl}/${tenant}/v2.0`,
      count: (c) => void counts[c]++,
      sessions: new IssuerSessions(),
      enableHarness: options.enableHarness === true || options.enableMinting === true,
      outage: false,
      recorder: new RequestRecorder(),
      hooks: new Hooks(),
      tokens: undefined as unknown as TokenFactory,
    };
    h.tokens = new TokenFactory(directory, keys, h, lifetimes);
    const listener = createDualListener(createApp(h).callback(), {
      cert: cert.certPem,
      key: cert.keyPem,
    });
    await new Promise<void>((resolvePromise, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(options.port ?? (hosts ? 443 : 0), options.host, () => {
        listener.server.off('error', reject);
        resolvePromise();
      });
    });
    const port = (listener.server.address() as AddressInfo).port;
    // In DNS mode the URLs are Entra's own: the listen port appears only when it is not 443
    // (tests), and an issuerUrl without one (behind a port mapping) drops it for Graph too.
    const onPort = (host: string) => `https://${host}${port === 443 ? '' : `:${port}`}`;
    try {
      h.baseUrl = trimUrl(
        options.issuerUrl ?? (hosts ? onPort(hosts.login) : `https://localhost:${port}`),
        'issuerUrl',
      );
      h.publicUrl = trimUrl(
        options.publicUrl ?? (hosts ? h.baseUrl : `http://localhost:${port}`),
        'publicUrl',
      );
      const basePort = new URL(h.baseUrl).port;
      h.graphBaseUrl = hosts
        ? `https://${hosts.graph}${basePort ? `:${basePort}` : ''}`
        : h.baseUrl;
    } catch (error) {
      listener.server.close();
      throw error;
    }
    return new FakeEntra(h, listener, port, cert.caCertFile, counts);
  }

  /** `${baseUrl}/${tenant}`: what MSAL takes as `authority`. */
  authority(tenant: string = this.tenantId): string {
    return `${this.baseUrl}/${tenant}`;
  }

  /** `${baseUrl}/${tenant}/v2.0`: the `iss` of its tokens. */
  issuer(tenant: string = this.tenantId): string {
    return this.#h.issuer(tenant);
  }

  get signingKid(): string {
    return this.#h.keys.signing.kid;
  }

  requestCounts(): Record<Counter, number> {
    return { ...this.#counts };
  }

  resetRequestCounts(): void {
    for (const c of COUNTERS) this.#counts[c] = 0;
  }

  setLifetimes(l: Partial<Lifetimes> | undefined): void {
    this.#h.tokens.lifetimes = { ...this.#h.tokens.lifetimes, ...validLifetimes(l) };
  }

  async mintAccessToken(o: MintOptions = {}): Promise<string> {
    return this.#h.tokens.mintAccessToken(o);
  }

  mintBrokenToken(kind: BrokenTokenKind, o: MintOptions = {}): Promise<string> {
    return this.#h.tokens.mintBrokenToken(kind, o);
  }

  /** The kid the next periodic rotation signs with (already published), if any. */
  get nextSigningKid(): string | undefined {
    return this.#h.keys.next?.kid;
  }

  /**
   * Rolls the signing key over; returns the new signing kid. Periodic (default), as Entra:
   * 1. the key published as "next" (since start or the last rotation) starts signing;
   * 2. the previous signing key stays published (until `retireKey`);
   * 3. a new "next" key is published.
   * `{ emergency: true }`: a key never published before signs at once (published now), as in
   * Entra's emergency roll-over; a JWKS cached by a client then lacks the new kid.
   */
  rotateSigningKey(options: { emergency?: boolean } = {}): Promise<string> {
    return this.#h.keys.rotate(options);
  }

  retireKey(kid: string): void {
    this.#h.keys.retire(kid);
  }

  /** While on, every request is answered 503 (temporarily_unavailable). */
  setOutage(on: boolean): void {
    this.#h.outage = on;
  }

  // Test harness: what was asked (recorded requests) and one-shot answers (queued hooks).

  /** The recorded requests not yet taken, oldest first (at most the last 1000). */
  requests(filter?: RequestFilter): RecordedRequest[] {
    return this.#h.recorder.list(filter);
  }

  /**
   * Removes and returns the oldest recorded request that matches, waiting up to `timeoutMs`
   * (default 2000) for one to arrive; rejects naming the filter when none does.
   */
  async takeRequest(
    filter?: RequestFilter,
    options: { timeoutMs?: number } = {},
  ): Promise<RecordedRequest> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const request = await this.#h.recorder.take(filter, timeoutMs);
    if (!request) {
      const what =
        typeof filter === 'function' ? 'matching the predicate' : JSON.stringify(filter ?? {});
      throw new Error(`takeRequest: no request ${what} arrived within ${timeoutMs} ms`);
    }
    return structuredClone(request);
  }

  clearRequests(): void {
    this.#h.recorder.clear();
  }

  /** The next token response that matches carries these claims (or response fields). One-shot, queued. */
  enqueueTokenCallback(callback: TokenCallback): void {
    this.#h.hooks.enqueueToken(callback);
  }

  /** The next `GET /v1.0/me` that matches answers with these profile fields. One-shot, queued. */
  enqueueGraphCallback(callback: GraphCallback): void {
    this.#h.hooks.enqueueGraph(callback);
  }

  /** The next request to `error.endpoint` that matches is answered with this error instead. One-shot, queued. */
  enqueueError(error: QueuedError): void {
    this.#h.hooks.enqueueError(error);
  }

  /** The queued hooks no request has used yet (a test can assert it used every one). */
  pendingHooks(): PendingHook[] {
    return this.#h.hooks.pending();
  }

  clearHooks(): void {
    this.#h.hooks.clear();
  }

  /** Forgets recorded requests, queued hooks and request counts (e.g. between tests). */
  reset(): void {
    this.clearRequests();
    this.clearHooks();
    this.resetRequestCounts();
  }

  /**
   * Harness: an issuer session (SSO cookie) with `upn` signed in, as if they had signed in on the
   * page, without one. Send `cookie` (`fake_entra_session=…`) with authorize/logout requests;
   * `prompt=none` then succeeds for this user. Pass `options.cookie` to add an account to it.
   */
  openSession(upn: string, options: { cookie?: string } = {}): OpenedSession {
    return openIssuerSession(this.#h, upn, options.cookie);
  }

  /**
   * Signs `upn` in at `authorizeUrl` (what the app sent the browser to) through the sign-in page,
   * as a person with a fresh browser would (or with `options.cookie`'s session), pressing the
   * pages' buttons (Accept on the consent page unless `options.consent` is 'cancel'), and returns
   * the answer for the app's redirect URI.
   */
  async completeSignIn(
    authorizeUrl: string,
    upn: string,
    options: SignInOptions = {},
  ): Promise<SignInResult> {
    const url = new URL(authorizeUrl);
    const ours = [this.publicUrl, this.baseUrl].map((u) => new URL(u).origin);
    if (!ours.includes(url.origin))
      throw new Error(`completeSignIn: ${url.origin} is not this issuer (${ours.join(', ')})`);
    return completeSignIn(authorizeUrl, upn, options);
  }

  close(): Promise<void> {
    this.#h.recorder.cancelWaits();
    return new Promise((resolvePromise, reject) => {
      this.#listener.server.close((err) => (err ? reject(err) : resolvePromise()));
      this.#listener.destroyConnections();
    });
  }
}
