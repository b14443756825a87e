// A tiny cookie-keeping HTTP client for integration tests: follows nothing, so each redirect can
// be asserted.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig, type WebAppConfig } from '../../src/config.ts';
import { createWebApp, type WebApp } from '../../src/server.ts';
import type { KeyValueStore } from '../../src/store/store.ts';
import {
  API,
  API_SCOPES,
  AUTHORITY,
  CLIENT_ID,
  GRAPH,
  TENANT,
  type NockEntra,
  type NockUser,
} from './nock-entra.ts';

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

export async function startTestApp(
  env: Record<string, string> = {},
  store?: KeyValueStore,
): Promise<TestApp> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = `http://localhost:${port}`;
  const config = loadConfig({
    TENANT_ID: TENANT,
    CLIENT_ID,
    CLIENT_SECRET: 'test-secret',
    AUTHORITY,
    GRAPH_BASE_URL: GRAPH,
    API_BASE_URL: API,
    API_SCOPES: API_SCOPES.join(' '),
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

/** Signs `user` in through the whole redirect dance; returns the final redirect answer. */
export async function signIn(
  agent: Agent,
  entra: NockEntra,
  user: NockUser,
  returnTo?: string,
): Promise<Answer> {
  const start = await agent.get(
    `/auth/signin${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
  );
  if (start.status !== 302) throw new Error(`sign-in start answered ${start.status}`);
  const { code, state } = entra.authorize(start.location, user);
  return agent.get(
    `/auth/redirect?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`,
  );
}
