// FakeEntra: starts the fake issuer (in-process for tests, or from cli.ts) on one port that
// serves TLS and plain HTTP, and exposes helpers to mint tokens and drive key rotation/outages.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.ts';
import { loadConfig, type FakeEntraConfig } from './config.ts';
import type { Counter, Harness } from './context.ts';
import { Directory } from './directory.ts';
import { GrantStore } from './grants.ts';
import { KeyStore } from './keys.ts';
import { createDualListener, type DualListener } from './listener.ts';
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
  /** Configuration object or path to a JSON file; default packages/fake-entra/config/default.json. */
  config?: FakeEntraConfig | string;
  /** Listen port; default 0 (any free port). */
  port?: number;
  /** Listen address; default all interfaces. */
  host?: string;
  /** Base of issuer/token/JWKS URLs; default https://localhost:{port}. */
  issuerUrl?: string;
  /** Base of the browser-facing authorize/logout URLs; default http://localhost:{port}. */
  publicUrl?: string;
  /** CA directory to issue the server certificate from (default FAKE_ENTRA_CA_DIR or <repo>/.certs), or certificate files. */
  tls?: { caDir?: string } | { certFile: string; keyFile: string };
  /** Extra DNS names (or IPs) in the server certificate, e.g. 'fake-entra'. */
  tlsHostnames?: string[];
  /** Lifetimes in seconds. */
  lifetimes?: Partial<Lifetimes>;
  /** Serve POST /_harness/tokens (off by default). */
  enableMinting?: boolean;
}

const COUNTERS: readonly Counter[] = ['discovery', 'jwks', 'authorize', 'token', 'graph', 'logout'];
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function defaultCaDir(): string {
  return resolve(process.env.FAKE_ENTRA_CA_DIR ?? join(REPO_ROOT, '.certs'));
}

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
  const caDir = resolve(tls.caDir ?? defaultCaDir());
  const hostnames = [...new Set(options.tlsHostnames ?? [])].sort();
  const key = JSON.stringify([caDir, hostnames]);
  let cert = certificateCache.get(key);
  if (!cert) {
    cert = (async () => {
      const ca = await ensureCertificateAuthority(caDir);
      return { ...(await issueServerCertificate(ca, hostnames)), caCertFile: ca.certFile };
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

function validLifetimes(l: Partial<Lifetimes> | undefined): Partial<Lifetimes> {
  for (const [k, v] of Object.entries(l ?? {})) {
    if (v !== undefined && (!Number.isFinite(v) || v <= 0))
      throw new Error(`lifetimes.${k} must be a positive number of seconds, got ${String(v)}`);
  }
  return Object.fromEntries(Object.entries(l ?? {}).filter(([, v]) => v !== undefined));
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
    this.graphBaseUrl = h.baseUrl;
    this.tenantId = h.directory.defaultTenant;
    this.caCertFile = caCertFile;
  }

  static async start(options: FakeEntraOptions = {}): Promise<FakeEntra> {
    if (options.issuerUrl) trimUrl(options.issuerUrl, 'issuerUrl');
    if (options.publicUrl) trimUrl(options.publicUrl, 'publicUrl');
    const directory = new Directory(loadConfig(options.config));
    const lifetimes = { ...DEFAULT_LIFETIMES, ...validLifetimes(options.lifetimes) };
    const [keys, cert] = await Promise.all([KeyStore.create(2), serverCertificate(options)]);
    const counts = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;
    const h: Harness = {
      directory,
      keys,
      grants: new GrantStore(),
      baseUrl: '',
      publicUrl: '',
      issuer: (tenant) => `${h.baseUrl}/${tenant}/v2.0`,
      count: (c) => void counts[c]++,
      sessions: new Map(),
      enableMinting: options.enableMinting === true,
      outage: false,
      tokens: undefined as unknown as TokenFactory,
    };
    h.tokens = new TokenFactory(directory, keys, h, lifetimes);
    const listener = createDualListener(createApp(h).callback(), {
      cert: cert.certPem,
      key: cert.keyPem,
    });
    await new Promise<void>((resolvePromise, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(options.port ?? 0, options.host, () => {
        listener.server.off('error', reject);
        resolvePromise();
      });
    });
    const port = (listener.server.address() as AddressInfo).port;
    try {
      h.baseUrl = trimUrl(options.issuerUrl ?? `https://localhost:${port}`, 'issuerUrl');
      h.publicUrl = trimUrl(options.publicUrl ?? `http://localhost:${port}`, 'publicUrl');
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

  rotateSigningKey(): Promise<string> {
    return this.#h.keys.rotate();
  }

  retireKey(kid: string): void {
    this.#h.keys.retire(kid);
  }

  /** While on, every request is answered 503 (temporarily_unavailable). */
  setOutage(on: boolean): void {
    this.#h.outage = on;
  }

  close(): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      this.#listener.server.close((err) => (err ? reject(err) : resolvePromise()));
      this.#listener.destroyConnections();
    });
  }
}
