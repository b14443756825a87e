// DNS mode: the fake answers as login.microsoftonline.com and graph.microsoft.com, two virtual
// hosts behind one certificate for both names. In-process: the routing by Host header and the
// certificate. In a network namespace of its own (unshare, as root): the real MSAL Node with
// Entra's own authority and neither knownAuthorities nor authorityMetadata, fully offline.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULTS, FakeEntra } from '../src/index.ts';
import {
  chromium,
  chromiumPath,
  describeWith,
  type Prerequisite,
} from '../../../tests/support/prerequisites.ts';

const LOGIN = 'login.microsoftonline.com';
const GRAPH = 'graph.microsoft.com';

function get(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('DNS mode in-process (Host header routing)', () => {
  let fake: FakeEntra;
  beforeAll(async () => {
    fake = await FakeEntra.start({ dnsMode: true, port: 0 });
  });
  afterAll(async () => {
    await fake.close();
  });

  test("URLs are Entra's own hosts; issuer https://login.microsoftonline.com/{tenant}/v2.0", () => {
    expect(fake.baseUrl).toBe(`https://${LOGIN}:${fake.port}`);
    expect(fake.publicUrl).toBe(`https://${LOGIN}:${fake.port}`);
    expect(fake.graphBaseUrl).toBe(`https://${GRAPH}:${fake.port}`);
  });

  test('behind a port mapping, an issuerUrl without a port keeps Graph without one too', async () => {
    const mapped = await FakeEntra.start({ dnsMode: true, port: 0, issuerUrl: `https://${LOGIN}` });
    try {
      expect([mapped.baseUrl, mapped.publicUrl, mapped.graphBaseUrl]).toEqual([
        `https://${LOGIN}`,
        `https://${LOGIN}`,
        `https://${GRAPH}`,
      ]);
      expect(mapped.issuer()).toBe(`https://${LOGIN}/${DEFAULTS.tenantId}/v2.0`);
    } finally {
      await mapped.close();
    }
  });

  test('the sign-in host serves discovery and no Graph; the Graph host serves Graph and no discovery', async () => {
    const discovery = `/${DEFAULTS.tenantId}/v2.0/.well-known/openid-configuration`;
    const document = await get(fake.port, LOGIN, discovery);
    expect(document.status).toBe(200);
    // userinfo is Graph's, as in Entra's document.
    expect(JSON.parse(document.body)).toMatchObject({
      userinfo_endpoint: `https://${GRAPH}:${fake.port}/oidc/userinfo`,
      msgraph_host: `${GRAPH}:${fake.port}`,
    });
    const loginMe = await get(fake.port, LOGIN, '/v1.0/me');
    expect(loginMe.status).toBe(404);
    expect(JSON.parse(loginMe.body)).toMatchObject({
      error: 'invalid_request',
      error_codes: [90010],
    });
    const graphDiscovery = await get(fake.port, GRAPH, discovery);
    expect(graphDiscovery.status).toBe(400);
    expect(JSON.parse(graphDiscovery.body).error).toMatchObject({
      code: 'BadRequest',
      message: `Invalid version: ${DEFAULTS.tenantId}`,
    });
    const graphMe = await get(fake.port, GRAPH, '/v1.0/me');
    expect(graphMe.status).toBe(401);
    expect(JSON.parse(graphMe.body).error.code).toBe('InvalidAuthenticationToken');
  });

  test('one certificate, trusted through the CA, names both hosts', async () => {
    const ca = readFileSync(fake.caCertFile);
    for (const servername of [LOGIN, GRAPH]) {
      const names = await new Promise<string>((resolvePromise, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: fake.port,
            path: '/healthz',
            servername,
            ca,
            headers: { host: servername },
          },
          (res) => {
            resolvePromise((res.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '');
            res.resume();
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(names).toContain(`DNS:${LOGIN}`);
      expect(names).toContain(`DNS:${GRAPH}`);
    }
  });
});

// Linux network + mount namespaces: a child with its own /etc/hosts and loopback, as root.
const namespaces: Prerequisite = {
  name: 'network namespaces (unshare --mount --net, as root)',
  check: () => {
    try {
      execFileSync('unshare', ['--mount', '--net', 'sh', '-c', 'ip link set lo up'], {
        stdio: 'ignore',
        timeout: 10_000,
      });
      return undefined;
    } catch (error) {
      return `unshare is not permitted here (${(error as Error).message.split('\n')[0]})`;
    }
  },
  howTo:
    'Run the tests as root on Linux with util-linux (unshare) and iproute2 (ip), as .ci/run does.',
};

describeWith([namespaces], "DNS mode: the real MSAL Node, offline, with Entra's own URLs", () => {
  test('signs in, calls Graph, gets API and app tokens; neither knownAuthorities nor authorityMetadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-entra-dns-'));
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, `127.0.0.1 localhost ${LOGIN} ${GRAPH}\n::1 localhost\n`);
    const child = fileURLToPath(new URL('./support/dns-mode-child.ts', import.meta.url));
    const caDir = resolve('.certs');
    const script = `set -e; ip link set lo up; mount --bind "$1" /etc/hosts; exec "$2" "$3" "$4"`;
    const { stdout } = await promisify(execFile)(
      'unshare',
      ['--mount', '--net', 'sh', '-c', script, 'sh', hosts, process.execPath, child, caDir],
      {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: join(caDir, 'ca.pem') },
        timeout: 60_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(result.resolved).toBe('127.0.0.1');
    expect(result.authorizeUrl).toMatch(
      new RegExp(
        `^https://${LOGIN.replaceAll('.', '\\.')}/${DEFAULTS.tenantId}/oauth2/v2\\.0/authorize\\?`,
      ),
    );
    expect(result.meStatus).toBe(200);
    expect(result.profile).toMatchObject({ userPrincipalName: DEFAULTS.users.alice.upn });
    expect(result.apiIssuer).toBe(`https://${LOGIN}/${DEFAULTS.tenantId}/v2.0`);
    expect(result.apiAudience).toBe(DEFAULTS.apiClientId);
    expect(result.appRoles).toEqual(['Data.Read.All']);
    expect(result.loginServesGraph).toBe(404);
    expect(result.graphServesDiscovery).toBe(400);
    // Each request went to the host it belongs to (MSAL knows Entra's public-cloud endpoints).
    const token = `POST ${LOGIN} /${DEFAULTS.tenantId}/oauth2/v2.0/token`;
    expect(result.seen.filter((s: string) => s === token)).toHaveLength(3);
    expect(result.seen).toContain(`GET ${GRAPH} /v1.0/me`);
    expect(result.seen).toContain(`GET ${LOGIN} /${DEFAULTS.tenantId}/oauth2/v2.0/authorize`);
  });
});

describeWith([chromium], 'DNS mode: a browser with host resolver rules', () => {
  test("Chromium opens the sign-in page at Entra's URL, trusting only the fake's CA key", async () => {
    const { chromium: browserType } = await import('playwright-core');
    const fake = await FakeEntra.start({ dnsMode: true, port: 0 });
    // The recipe of the README: map both names to the fake, trust its CA's key (it is in the chain).
    const ca = new X509Certificate(readFileSync(fake.caCertFile));
    const spki = createHash('sha256')
      .update(ca.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    const browser = await browserType.launch({
      executablePath: chromiumPath,
      args: [
        `--host-resolver-rules=MAP ${LOGIN} 127.0.0.1, MAP ${GRAPH} 127.0.0.1`,
        `--ignore-certificate-errors-spki-list=${spki}`,
      ],
    });
    try {
      const page = await browser.newPage();
      const url = new URL(`${fake.publicUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/authorize`);
      url.search = new URLSearchParams({
        client_id: DEFAULTS.webClientId,
        response_type: 'code',
        redirect_uri: DEFAULTS.webRedirectUri,
        scope: 'openid',
      }).toString();
      expect(url.hostname).toBe(LOGIN);
      expect((await page.goto(url.toString()))?.status()).toBe(200);
      await expect(
        page.getByRole('button', { name: `Sign in as ${DEFAULTS.users.alice.name}` }).count(),
      ).resolves.toBe(1);
      expect((await page.goto(`${fake.graphBaseUrl}/v1.0/me`))?.status()).toBe(401);
    } finally {
      await browser.close();
      await fake.close();
    }
  });
});
