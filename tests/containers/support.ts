// Helpers shared by the container suites: the docker CLI, free host ports, polling, tokens
// obtained from a running fake issuer over HTTP (the way a client or daemon gets them), and
// the browser steps of a sign-in.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';
import { DEFAULTS } from '@koa-entra/fake-entra';
import type { Page } from 'playwright-core';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Default identities of the fake issuer (packages/fake-entra/config/default.json), as the images use them.
export const ids = DEFAULTS;

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; rejects with its output when it exits non-zero. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? repoRoot,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          const tail = (s: string) => s.split('\n').slice(-40).join('\n');
          reject(
            new Error(
              `${command} ${args.join(' ')} failed: ${error.message}\n${tail(stdout)}\n${tail(stderr)}`,
            ),
          );
        } else {
          resolvePromise({ stdout, stderr });
        }
      },
    );
  });
}

export const docker = (args: string[], timeoutMs?: number) => run('docker', args, { timeoutMs });

/** A TCP port that was free a moment ago (for host ports the browser must know in advance). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` returns a value other than undefined, or fails naming what was awaited. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 120_000, intervalMs = 500 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  health: string | undefined;
  user: string;
  readOnly: boolean;
}

export async function inspectContainer(id: string): Promise<ContainerState> {
  const { stdout } = await docker(['inspect', id]);
  const [info] = JSON.parse(stdout) as Array<{
    State: { Running: boolean; ExitCode: number; Health?: { Status: string } };
    Config: { User: string };
    HostConfig: { ReadonlyRootfs: boolean };
  }>;
  if (!info) throw new Error(`no container ${id}`);
  return {
    running: info.State.Running,
    exitCode: info.State.ExitCode,
    health: info.State.Health?.Status,
    user: info.Config.User,
    readOnly: info.HostConfig.ReadonlyRootfs,
  };
}

/** Size of an image in MB (what `docker images` shows), for the report. */
export async function imageSizeMb(image: string): Promise<number> {
  const { stdout } = await docker(['image', 'inspect', '--format', '{{.Size}}', image]);
  return Math.round(Number(stdout.trim()) / 1e6);
}

// ---- tokens from a running fake issuer, over HTTP ---------------------------------------

const tokenEndpoint = (issuerHttpBase: string) =>
  `${issuerHttpBase}/${ids.tenantId}/oauth2/v2.0/token`;

async function redeem(issuerHttpBase: string, form: Record<string, string>): Promise<string> {
  const response = await fetch(tokenEndpoint(issuerHttpBase), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (response.status !== 200 || !body.access_token) {
    throw new Error(
      `token endpoint answered ${response.status}: ${body.error} ${body.error_description}`,
    );
  }
  return body.access_token;
}

/** App-only token of the daemon (client credentials), app role Data.Read.All. */
export function daemonToken(issuerHttpBase: string): Promise<string> {
  return redeem(issuerHttpBase, {
    grant_type: 'client_credentials',
    client_id: ids.daemonClientId,
    client_secret: ids.daemonClientSecret,
    scope: `${ids.apiIdentifier}/.default`,
  });
}

/**
 * Delegated token of a user for the API, through the authorization code flow with PKCE as the
 * web app runs it. The user signs in without the page through the fake's harness (an issuer
 * session opened by `POST /_harness/sessions`, the fake started with --enable-harness); as on
 * Entra, `prompt=none` then needs that session and the user's consent to every scope asked.
 */
export async function userToken(
  issuerHttpBase: string,
  upn: string,
  redirectUri: string,
  scopes: string[] = ['data.read', 'data.write'],
): Promise<string> {
  const opened = await fetch(`${issuerHttpBase}/_harness/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ upn }),
  });
  if (opened.status !== 201) throw new Error(`/_harness/sessions answered ${opened.status}`);
  const { cookie } = (await opened.json()) as { cookie: string };
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const scope = [
    'openid',
    'profile',
    'offline_access',
    ...scopes.map((s) => `${ids.apiIdentifier}/${s}`),
  ].join(' ');
  const authorize = new URL(`${issuerHttpBase}/${ids.tenantId}/oauth2/v2.0/authorize`);
  for (const [k, v] of Object.entries({
    client_id: ids.webClientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    response_mode: 'query',
    scope,
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    prompt: 'none',
    login_hint: upn,
  })) {
    authorize.searchParams.set(k, v);
  }
  const response = await fetch(authorize, { redirect: 'manual', headers: { cookie } });
  const location = response.headers.get('location');
  const code = location ? new URL(location).searchParams.get('code') : null;
  if (!code)
    throw new Error(`authorize answered ${response.status} without a code (location: ${location})`);
  return redeem(issuerHttpBase, {
    grant_type: 'authorization_code',
    client_id: ids.webClientId,
    client_secret: ids.webClientSecret,
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
    scope,
  });
}

// ---- browser -------------------------------------------------------------------------------

/**
 * From the web app's home page: sign in as `upn` on the fake issuer's page and come back
 * signed in. Fails if the browser ends anywhere but the web app.
 */
export async function signIn(page: Page, webAppUrl: string, upn: string): Promise<void> {
  const origin = new URL(webAppUrl).origin;
  await page.goto(webAppUrl);
  await page.getByRole('link', { name: 'Sign in with Microsoft' }).first().click();
  await page.waitForURL((url) => url.origin !== origin);
  await signInOnIssuerPage(page, upn);
  await page.waitForURL((url) => url.origin === origin, { timeout: 30_000 });
  await expect(page.getByTestId('profile-email').textContent()).resolves.toBe(upn);
}

/** The fake issuer's sign-in page: one "Sign in as {name}" button per user (value = upn). */
async function signInOnIssuerPage(page: Page, upn: string): Promise<void> {
  await page.locator(`button[value="${upn}"]`).click();
}

/** Writes `text` through the web app's new-item form and checks that the items list shows it. */
export async function writeAndRead(page: Page, webAppUrl: string, text: string): Promise<void> {
  await page.goto(new URL('/items/new', webAppUrl).toString());
  await page.getByLabel(/^Text/).fill(text);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL((url) => url.pathname === '/items');
  await expect(page.getByTestId('flash').textContent()).resolves.toContain('Saved');
  await expect(page.getByText(text).first().isVisible()).resolves.toBe(true);
}
