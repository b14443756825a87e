// Malformed requests to every endpoint get Entra-shaped 4xx answers: never a crash, never a 500.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

const T = DEFAULTS.tenantId;
let fake: FakeEntra;

beforeAll(async () => {
  fake = await FakeEntra.start({ enableHarness: true });
});
afterAll(async () => {
  await fake.close();
});

const form = 'application/x-www-form-urlencoded';
const authorizeQuery = (extra: string) => {
  const query = new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    redirect_uri: DEFAULTS.webRedirectUri,
    response_type: 'code',
    scope: 'openid',
  });
  for (const [k, v] of new URLSearchParams(extra)) query.set(k, v);
  return `/${T}/oauth2/v2.0/authorize?${query}`;
};
const webAuth = `client_id=${DEFAULTS.webClientId}&client_secret=${DEFAULTS.webClientSecret}`;

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Expected AADSTS code (JSON or page), or Graph error code. */
  expect: number | string;
}

const cases: Case[] = [
  // discovery, keys, instance discovery
  {
    name: 'discovery: unknown tenant',
    path: '/not-a-tenant/v2.0/.well-known/openid-configuration',
    expect: 90002,
  },
  {
    name: 'discovery: broken percent-encoding',
    path: '/%E0%A4%A/v2.0/.well-known/openid-configuration',
    expect: 90002,
  },
  {
    name: 'discovery: POST',
    method: 'POST',
    path: `/${T}/v2.0/.well-known/openid-configuration`,
    expect: 90056,
  },
  {
    name: 'keys: unknown tenant',
    path: '/00000000-0000-0000-0000-000000000000/discovery/v2.0/keys',
    expect: 90002,
  },
  {
    name: 'instance: missing authorization_endpoint',
    path: '/common/discovery/instance?api-version=1.1',
    expect: 900144,
  },
  {
    name: 'instance: endpoint not a URL',
    path: '/common/discovery/instance?authorization_endpoint=nope',
    expect: 9002313,
  },
  {
    name: 'instance: repeated parameter',
    path: '/common/discovery/instance?authorization_endpoint=a&authorization_endpoint=b',
    expect: 9002313,
  },
  // authorize: errors before the redirect URI is trusted are pages
  { name: 'authorize: no parameters', path: `/${T}/oauth2/v2.0/authorize`, expect: 900144 },
  {
    name: 'authorize: unknown client',
    path: `/${T}/oauth2/v2.0/authorize?client_id=nope&redirect_uri=x`,
    expect: 700016,
  },
  {
    name: 'authorize: missing redirect_uri',
    path: `/${T}/oauth2/v2.0/authorize?client_id=${DEFAULTS.webClientId}`,
    expect: 900144,
  },
  {
    name: 'authorize: repeated client_id',
    path: `/${T}/oauth2/v2.0/authorize?client_id=a&client_id=b`,
    expect: 9002313,
  },
  {
    name: 'authorize: unknown tenant',
    path: `/contoso.invalid/oauth2/v2.0/authorize?client_id=${DEFAULTS.webClientId}`,
    expect: 90002,
  },
  {
    name: 'authorize: POST with JSON body',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/authorize`,
    headers: { 'content-type': 'application/json' },
    body: '[1,2]',
    expect: 9002313,
  },
  { name: 'authorize: PUT', method: 'PUT', path: `/${T}/oauth2/v2.0/authorize`, expect: 90056 },
  // token
  { name: 'token: GET', path: `/${T}/oauth2/v2.0/token`, expect: 90056 },
  { name: 'token: no body', method: 'POST', path: `/${T}/oauth2/v2.0/token`, expect: 9002313 },
  {
    name: 'token: JSON body',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': 'application/json' },
    body: '{"grant_type":"client_credentials"}',
    expect: 9002313,
  },
  {
    name: 'token: invalid JSON',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': 'application/json' },
    body: '{',
    expect: 9002313,
  },
  {
    name: 'token: empty form',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: '',
    expect: 900144,
  },
  {
    name: 'token: repeated grant_type',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: 'grant_type=a&grant_type=b',
    expect: 9002313,
  },
  {
    name: 'token: unsupported grant',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=password&${webAuth}`,
    expect: 70003,
  },
  {
    name: 'token: missing client_id',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: 'grant_type=client_credentials',
    expect: 900144,
  },
  {
    name: 'token: garbage Basic header',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form, authorization: 'Basic !!!' },
    body: 'grant_type=client_credentials',
    expect: 9002313,
  },
  {
    name: 'token: Basic without colon',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: {
      'content-type': form,
      authorization: `Basic ${Buffer.from('abc').toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
    expect: 9002313,
  },
  {
    name: 'token: Basic with bad percent-encoding',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: {
      'content-type': form,
      authorization: `Basic ${Buffer.from('%zz:%zz').toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
    expect: 9002313,
  },
  {
    name: 'token: client_assertion',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=client_credentials&client_id=${DEFAULTS.daemonClientId}&client_assertion=x&client_assertion_type=y`,
    expect: 9002313,
  },
  {
    name: 'token: missing code',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=authorization_code&${webAuth}`,
    expect: 900144,
  },
  {
    name: 'token: missing redirect_uri',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=authorization_code&code=x&${webAuth}`,
    expect: 900144,
  },
  {
    name: 'token: refresh without scope',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=refresh_token&refresh_token=x&${webAuth}`,
    expect: 900144,
  },
  {
    name: 'token: client credentials with two scopes',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=client_credentials&client_id=${DEFAULTS.daemonClientId}&client_secret=${DEFAULTS.daemonClientSecret}&scope=${encodeURIComponent(`${DEFAULTS.apiIdentifier}/.default https://graph.microsoft.com/.default`)}`,
    expect: 1002012,
  },
  {
    name: 'token: oversized body',
    method: 'POST',
    path: `/${T}/oauth2/v2.0/token`,
    headers: { 'content-type': form },
    body: `grant_type=${'x'.repeat(100_000)}`,
    expect: 9002313,
  },
  {
    name: 'token: unknown tenant',
    method: 'POST',
    path: '/nowhere/oauth2/v2.0/token',
    headers: { 'content-type': form },
    body: 'grant_type=client_credentials',
    expect: 90002,
  },
  // logout
  {
    name: 'logout: id_token_hint not a JWT',
    path: `/${T}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(DEFAULTS.webPostLogoutRedirectUri)}&id_token_hint=nope`,
    expect: 9002313,
  },
  {
    name: 'logout: repeated parameter',
    path: `/${T}/oauth2/v2.0/logout?state=a&state=b`,
    expect: 9002313,
  },
  { name: 'logout: unknown tenant', path: '/nowhere/oauth2/v2.0/logout', expect: 90002 },
  // Graph
  {
    name: 'graph: Basic credentials',
    path: '/v1.0/me',
    headers: { authorization: 'Basic abc' },
    expect: 'InvalidAuthenticationToken',
  },
  {
    name: 'graph: three garbage segments',
    path: '/v1.0/me',
    headers: { authorization: 'Bearer a.b.c' },
    expect: 'InvalidAuthenticationToken',
  },
  { name: 'graph: unknown path', path: '/v1.0/users', expect: 'Request_ResourceNotFound' },
  // minting endpoint and unknown paths
  {
    name: 'minting: form body',
    method: 'POST',
    path: '/_harness/tokens',
    headers: { 'content-type': form },
    body: 'user=x',
    expect: 9002313,
  },
  {
    name: 'minting: array body',
    method: 'POST',
    path: '/_harness/tokens',
    headers: { 'content-type': 'application/json' },
    body: '[]',
    expect: 9002313,
  },
  {
    name: 'minting: unknown broken kind',
    method: 'POST',
    path: '/_harness/tokens',
    headers: { 'content-type': 'application/json' },
    body: '{"kind":"bogus"}',
    expect: 9002313,
  },
  { name: 'unknown path', path: '/nothing/here', expect: 90010 },
  { name: 'healthz: POST', method: 'POST', path: '/healthz', expect: 90056 },
];

describe('malformed requests', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await fetch(`${fake.baseUrl}${c.path}`, {
      method: c.method ?? 'GET',
      headers: c.headers,
      body: c.body,
      redirect: 'manual',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    if (typeof c.expect === 'string') {
      expect(JSON.parse(text).error.code).toBe(c.expect);
    } else if (type.startsWith('application/json')) {
      const body = JSON.parse(text);
      expect(body).toMatchObject({
        error: expect.any(String),
        error_codes: [c.expect],
        trace_id: expect.any(String),
        correlation_id: expect.any(String),
        timestamp: expect.any(String),
      });
      expect(body.error_description).toMatch(new RegExp(`^AADSTS${c.expect}: `));
    } else {
      expect(type).toMatch(/^text\/html/);
      expect(text).toContain(`AADSTS${c.expect}:`);
    }
  });

  test('redirects protocol errors to a trusted redirect URI instead of failing hard', async () => {
    const table: [string, string][] = [
      ['response_type=token', 'unsupported_response_type'],
      ['response_mode=bogus', 'invalid_request'],
      ['prompt=bogus', 'invalid_request'],
      ['code_challenge=short&code_challenge_method=S256', 'invalid_request'],
      [`code_challenge=${'a'.repeat(43)}&code_challenge_method=S512`, 'invalid_request'],
      ['code_challenge_method=S256', 'invalid_request'],
      [`scope=${encodeURIComponent('api://unknown/x')}`, 'invalid_scope'],
      [`scope=${encodeURIComponent(`${DEFAULTS.apiIdentifier}/data.delete`)}`, 'invalid_scope'],
      ['prompt=none', 'login_required'],
    ];
    for (const [extra, error] of table) {
      const res = await fetch(`${fake.publicUrl}${authorizeQuery(extra)}`, { redirect: 'manual' });
      expect([res.status, extra]).toEqual([302, extra]);
      const location = new URL(res.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(DEFAULTS.webRedirectUri);
      expect([location.searchParams.get('error'), extra]).toEqual([error, extra]);
      expect(location.searchParams.get('error_description')).toMatch(/^AADSTS\d+: /);
    }
  });

  test('survives garbage bytes and half-open connections on the shared port', async () => {
    for (const payload of [
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
      Buffer.from('NOT HTTP AT ALL\r\n\r\n'),
      Buffer.alloc(0),
    ]) {
      await new Promise<void>((resolve) => {
        const socket = connect(fake.port, 'localhost', () => {
          if (payload.length) socket.write(payload);
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    }
    expect((await fetch(`${fake.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('compressed token requests (issue 13, W2)', () => {
  const client = `grant_type=client_credentials&client_id=${DEFAULTS.daemonClientId}&client_secret=${DEFAULTS.daemonClientSecret}&scope=${encodeURIComponent(`${DEFAULTS.apiIdentifier}/.default`)}`;
  const post = (encoding: string, body: Buffer | string) =>
    fetch(`${fake.authority()}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': form, 'content-encoding': encoding },
      body,
    });

  test('a corrupt gzip, deflate or br body is 400 invalid_request, an unknown encoding 415; one log line, no stack', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const res = await post(encoding, 'this is not compressed at all');
        expect([encoding, res.status]).toEqual([encoding, 400]);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ error: 'invalid_request', error_codes: [9002313] });
        expect(String(body.error_description)).toContain(
          `The body is not valid '${encoding}' data.`,
        );
      }
      const unknown = await post('x-bogus', 'whatever');
      expect(unknown.status).toBe(415);
      expect(await unknown.json()).toMatchObject({
        error: 'invalid_request',
        error_codes: [9002313],
      });
      expect(error).not.toHaveBeenCalled();
      const lines = warn.mock.calls.map((c) => c.map(String).join(' '));
      expect(lines).toHaveLength(4);
      for (const line of lines) {
        expect(line).toMatch(/^fake-entra: POST \/[^ ]+\/oauth2\/v2\.0\/token: .* \((400|415)\)$/);
        expect(line).not.toMatch(/\n\s+at /);
      }
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  });

  test('a well-formed compressed body is decoded and answered', async () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(client)],
      ['deflate', deflateSync(client)],
      ['br', brotliCompressSync(client)],
    ] as const) {
      const res = await post(encoding, body);
      expect([encoding, res.status]).toEqual([encoding, 200]);
    }
  });
});
