// The server surface: one port for TLS and plain HTTP, Entra-shaped discovery and JWKS,
// request counters, outage switch, health check and the opt-in minting endpoint; the CA option.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

let fake: FakeEntra;

beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake.close();
});

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return {
    status: res.status,
    headers: res.headers,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    body: (await res.json()) as Record<string, any>,
  };
};

describe('one port, TLS and plain HTTP', () => {
  test('serves https with a certificate from the CA in caCertFile, and http on the same port', async () => {
    expect(fake.baseUrl).toBe(`https://localhost:${fake.port}`);
    expect(fake.publicUrl).toBe(`http://localhost:${fake.port}`);
    expect((await json(`${fake.baseUrl}/healthz`)).body).toEqual({ status: 'ok' });
    expect((await json(`${fake.publicUrl}/healthz`)).body).toEqual({ status: 'ok' });
    // Trusting only caCertFile (not the process-wide store) is enough.
    const ca = readFileSync(fake.caCertFile, 'utf8');
    for (const host of ['localhost', '127.0.0.1']) {
      const status = await new Promise<number>((resolve, reject) => {
        httpsRequest({ host, port: fake.port, path: '/healthz', ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
    }
  });

  test('takes its CA from the tls option, by default ./.certs, never from the environment', async () => {
    expect(fake.caCertFile).toBe(join(process.cwd(), '.certs', 'ca.pem'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'fake-entra-ca-'));
    const saved = process.env.FAKE_ENTRA_CA_DIR;
    process.env.FAKE_ENTRA_CA_DIR = elsewhere;
    try {
      const byDefault = await FakeEntra.start();
      await byDefault.close();
      expect(byDefault.caCertFile).toBe(fake.caCertFile);
      expect(readdirSync(elsewhere)).toEqual([]);
      const own = await FakeEntra.start({ tls: { caDir: elsewhere } });
      try {
        expect(own.caCertFile).toBe(join(elsewhere, 'ca.pem'));
        const status = await new Promise<number>((resolve, reject) => {
          const ca = readFileSync(own.caCertFile, 'utf8');
          httpsRequest({ host: 'localhost', port: own.port, path: '/healthz', ca }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on('error', reject)
            .end();
        });
        expect(status).toBe(200);
      } finally {
        await own.close();
      }
    } finally {
      if (saved === undefined) delete process.env.FAKE_ENTRA_CA_DIR;
      else process.env.FAKE_ENTRA_CA_DIR = saved;
    }
  });

  test('puts extra hostnames in the certificate', async () => {
    const local = await FakeEntra.start({
      tlsHostnames: ['fake-entra'],
      issuerUrl: 'https://fake-entra:5050',
      publicUrl: 'http://localhost:5050/',
    });
    try {
      const cert = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          { host: 'localhost', port: local.port, path: '/healthz', servername: 'fake-entra' },
          (res) => {
            resolve(String((res.socket as TLSSocket).getPeerCertificate().subjectaltname));
            res.resume();
          },
        );
        req.on('error', reject).end();
      });
      expect(cert).toContain('DNS:fake-entra');
      expect(local.baseUrl).toBe('https://fake-entra:5050');
      expect(local.publicUrl).toBe('http://localhost:5050');
      expect(local.issuer()).toBe(`https://fake-entra:5050/${DEFAULTS.tenantId}/v2.0`);
    } finally {
      await local.close();
    }
  });
});

describe('discovery and keys', () => {
  test('serves an OpenID configuration shaped like Entra v2.0', async () => {
    const { status, body } = await json(
      `${fake.authority()}/v2.0/.well-known/openid-configuration`,
    );
    expect(status).toBe(200);
    const t = DEFAULTS.tenantId;
    expect(body).toMatchObject({
      issuer: `${fake.baseUrl}/${t}/v2.0`,
      authorization_endpoint: `${fake.publicUrl}/${t}/oauth2/v2.0/authorize`,
      token_endpoint: `${fake.baseUrl}/${t}/oauth2/v2.0/token`,
      end_session_endpoint: `${fake.publicUrl}/${t}/oauth2/v2.0/logout`,
      jwks_uri: `${fake.baseUrl}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: expect.arrayContaining([
        'client_secret_post',
        'client_secret_basic',
      ]),
      scopes_supported: expect.arrayContaining(['openid', 'profile', 'email', 'offline_access']),
    });
  });

  test('resolves a tenant domain to its id and keeps the multi-tenant placeholder for common', async () => {
    expect(
      (await json(`${fake.baseUrl}/contoso.test/v2.0/.well-known/openid-configuration`)).body
        .issuer,
    ).toBe(fake.issuer());
    expect(
      (await json(`${fake.baseUrl}/common/v2.0/.well-known/openid-configuration`)).body.issuer,
    ).toBe(`${fake.baseUrl}/{tenantid}/v2.0`);
  });

  test('answers an unknown tenant with Entra error AADSTS90002', async () => {
    const { status, body } = await json(
      `${fake.baseUrl}/11111111-1111-4111-8111-111111111111/v2.0/.well-known/openid-configuration`,
    );
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
    expect(body.error_description).toMatch(
      /^AADSTS90002: Tenant '11111111-1111-4111-8111-111111111111' not found/,
    );
    for (const field of ['timestamp', 'trace_id', 'correlation_id'])
      expect(typeof body[field]).toBe('string');
  });

  test('publishes RSA keys with kid, x5t, n, e, use, issuer and an x5c matching them', async () => {
    const { body } = await json(`${fake.authority()}/discovery/v2.0/keys`);
    expect(body.keys.length).toBeGreaterThanOrEqual(2);
    const { X509Certificate, createPublicKey, createHash } = await import('node:crypto');
    for (const key of body.keys) {
      expect(key).toMatchObject({ kty: 'RSA', use: 'sig', e: 'AQAB', issuer: fake.issuer() });
      expect(key.n).toMatch(/^[A-Za-z0-9_-]{300,}$/);
      const der = Buffer.from(key.x5c[0], 'base64');
      expect(key.x5t).toBe(createHash('sha1').update(der).digest('base64url'));
      expect(key.kid).toBe(key.x5t);
      const fromCert = new X509Certificate(der).publicKey.export({ format: 'jwk' });
      const fromJwk = createPublicKey({
        key: { kty: 'RSA', n: key.n, e: key.e },
        format: 'jwk',
      }).export({ format: 'jwk' });
      expect(fromCert).toEqual(fromJwk);
    }
    expect(body.keys.map((k: { kid: string }) => k.kid)).toContain(fake.signingKid);
  });
});

describe('test controls', () => {
  test('counts requests per endpoint kind', async () => {
    const local = await FakeEntra.start();
    try {
      await fetch(`${local.authority()}/v2.0/.well-known/openid-configuration`);
      await fetch(`${local.authority()}/discovery/v2.0/keys`);
      await fetch(`${local.authority()}/discovery/v2.0/keys`);
      expect(local.requestCounts()).toEqual({
        discovery: 1,
        jwks: 2,
        authorize: 0,
        token: 0,
        graph: 0,
        logout: 0,
      });
      local.resetRequestCounts();
      expect(local.requestCounts().jwks).toBe(0);
    } finally {
      await local.close();
    }
  });

  test('answers 503 on every endpoint during an outage, and recovers', async () => {
    const local = await FakeEntra.start();
    try {
      local.setOutage(true);
      for (const path of [
        '/healthz',
        `/${DEFAULTS.tenantId}/discovery/v2.0/keys`,
        `/${DEFAULTS.tenantId}/oauth2/v2.0/token`,
      ]) {
        const { status, body } = await json(`${local.baseUrl}${path}`);
        expect(status).toBe(503);
        expect(body).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90033] });
      }
      local.setOutage(false);
      expect((await fetch(`${local.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  test('applies lifetimes set at start and later', async () => {
    const local = await FakeEntra.start({ lifetimes: { accessToken: 3 } });
    try {
      const jwks = createRemoteJWKSet(new URL(`${local.authority()}/discovery/v2.0/keys`));
      const { payload } = await jwtVerify(await local.mintAccessToken(), jwks, {
        issuer: local.issuer(),
      });
      // exp is the lifetime from now; iat lies 300 s (Entra's backdating) before now.
      expect(payload.exp! - payload.iat!).toBe(303);
      local.setLifetimes({ accessToken: 7, backdate: 0 });
      const { payload: later } = await jwtVerify(await local.mintAccessToken(), jwks, {
        issuer: local.issuer(),
      });
      expect(later.exp! - later.iat!).toBe(7);
      expect(() => local.setLifetimes({ accessToken: -1 })).toThrow(/lifetimes\.accessToken/);
      expect(() => local.setLifetimes({ accessToken: { min: 9, max: 3 } })).toThrow(
        /lifetimes\.accessToken must be seconds or \{ min, max \}/,
      );
    } finally {
      await local.close();
    }
  });

  test('has no minting endpoint unless enabled', async () => {
    const { status, body } = await json(`${fake.baseUrl}/_harness/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(status).toBe(404);
    expect(body.error).toBe('invalid_request');
  });

  test('mints valid and broken tokens over HTTP when enabled', async () => {
    const local = await FakeEntra.start({ enableHarness: true });
    try {
      const jwks = createRemoteJWKSet(new URL(`${local.authority()}/discovery/v2.0/keys`));
      const post = (body: unknown) =>
        json(`${local.baseUrl}/_harness/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const ok = await post({ user: 'bob@contoso.test', claims: { sid: null, extra: 'x' } });
      expect(ok.status).toBe(200);
      const { payload } = await jwtVerify(ok.body.access_token, jwks, {
        issuer: local.issuer(),
        audience: DEFAULTS.apiClientId,
      });
      expect(payload).toMatchObject({
        preferred_username: 'bob@contoso.test',
        scp: 'data.read',
        extra: 'x',
      });
      expect('sid' in payload).toBe(false);
      const app = await post({ app: true });
      expect(
        (await jwtVerify(app.body.access_token, jwks, { issuer: local.issuer() })).payload.roles,
      ).toEqual(['Data.Read.All']);
      const expired = await post({ kind: 'expired' });
      await expect(
        jwtVerify(expired.body.access_token, jwks, { issuer: local.issuer() }),
      ).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
      for (const bad of [
        { kind: 'nope' },
        { lifetimeSeconds: -1 },
        { unknown: 1 },
        { user: 'nobody@contoso.test' },
      ]) {
        const res = await post(bad);
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_request');
      }
      const notJson = await json(`${local.baseUrl}/_harness/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      expect(notJson.status).toBe(400);
      expect(notJson.body.error_codes).toEqual([9002313]);
    } finally {
      await local.close();
    }
  });
});
