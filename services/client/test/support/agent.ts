// A tiny cookie-keeping HTTP client for integration tests (follows nothing, so each redirect can
// be asserted), and the web app started against the real fake issuer in-process.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { DEFAULTS, type FakeEntra } from '@koa-entra/fake-entra';
import { loadConfig, type WebAppConfig } from '../../src/config.ts';
import { createWebApp, type WebApp } from '../../src/server.ts';
import type { KeyValueStore } from '../../src/store/store.ts';

export interface Answer {
  status: number;
  location: string;
  headers: Headers;
  text: string;
  setCookies: string[];
}

export class Agent {
  readonly cookies = new Map<string, string>();
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }

  #cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    method: string,
    path: string,
    init: { form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = this.#cookieHeader();
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(new URL(path, this.base), {
      method,
      headers,
      body,
      redirect: 'manual',
    });
    const setCookies = response.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      const expired = attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: response.status,
      location: response.headers.get('location') ?? '',
      headers: response.headers,
      text: await response.text(),
      setCookies,
    };
  }

  get(path: string, headers?: Record<string, string>): Promise<Answer> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  post(
    path: string,
    form: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<Answer> {
    return this.request('POST', path, { form, ...(headers ? { headers } : {}) });
  }

  /** The value of the hidden `_csrf` field of the first form on a page. */
  static formToken(html: string, action?: string): string {
    const forms = [...html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => !action || f[1] === action);
    const token = form?.[2]?.match(/name="_csrf" value="([^"]+)"/)?.[1];
    if (!token) throw new Error(`no form token${action ? ` for ${action}` : ''} on the page`);
    return token;
  }
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  base: string;
  config: WebAppConfig;
  webApp: WebApp;
  logs: LogCapture;
  server: Server;
  close(): Promise<void>;
}

export const SESSION_KEY = 'test-session-key-0123456789abcdef0123456789';

/** Where the web app signs in and what it calls: the fake issuer (and its Graph stub), an API. */
export interface Upstreams {
  fake: FakeEntra;
  /** Base URL of the API; default an address where nothing listens. */
  apiUrl?: string;
}

export async function startTestApp(
  upstreams: Upstreams,
  env: Record<string, string> = {},
  store?: KeyValueStore,
): Promise<TestApp> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = `http://localhost:${port}`;
  const config = loadConfig({
    TENANT_ID: DEFAULTS.tenantId,
    CLIENT_ID: DEFAULTS.webClientId,
    CLIENT_SECRET: DEFAULTS.webClientSecret,
    AUTHORITY: upstreams.fake.baseUrl,
    GRAPH_BASE_URL: upstreams.fake.graphBaseUrl,
    API_BASE_URL: upstreams.apiUrl ?? 'http://127.0.0.1:9',
    API_READ_SCOPES: `${DEFAULTS.apiIdentifier}/data.read`,
    API_WRITE_SCOPES: `${DEFAULTS.apiIdentifier}/data.write`,
    REDIRECT_URI: `${base}/auth/redirect`,
    SESSION_KEYS: SESSION_KEY,
    LOG_LEVEL: 'info',
    ...env,
  });
  const logs = new LogCapture();
  const webApp = await createWebApp(config, { logDestination: logs, ...(store ? { store } : {}) });
  server.on('request', webApp.app.callback());
  return {
    base,
    config,
    webApp,
    logs,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await webApp.close();
    },
  };
}

/** The sign-in start: the app's answer, whose Location is the issuer's authorize URL. */
export async function startSignIn(agent: Agent, returnTo?: string): Promise<Answer> {
  const start = await agent.get(
    `/auth/signin${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
  );
  if (start.status !== 302) throw new Error(`sign-in start answered ${start.status}`);
  return start;
}

/** The person signs `upn` in on the issuer's page; the browser brings the answer back to the app. */
export async function finishSignIn(
  agent: Agent,
  fake: FakeEntra,
  start: Answer,
  upn: string,
): Promise<Answer> {
  const back = await fake.completeSignIn(start.location, upn);
  return agent.get(back.url);
}

/** Signs `upn` in through the whole redirect dance; returns the app's final answer. */
export async function signIn(
  agent: Agent,
  fake: FakeEntra,
  upn: string,
  returnTo?: string,
): Promise<Answer> {
  return finishSignIn(agent, fake, await startSignIn(agent, returnTo), upn);
}
