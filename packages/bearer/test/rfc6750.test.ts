// The RFC 6750 request layer on plain inputs, and the errors it throws.
import { describe, expect, test } from '@jest/globals';
import {
  InvalidRequestError,
  MissingTokenError,
  assertNoBodyToken,
  assertNoQueryToken,
  authorizationHeaderOf,
  getBearerToken,
  tokenFromAuthorization,
} from '@koa-entra/bearer';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

/** What the call throws (fails the test when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('getBearerToken', () => {
  test('the token of the one Authorization header', () => {
    expect(
      getBearerToken({ rawHeaders: ['Host', 'api', 'Authorization', `Bearer ${TOKEN}`] }),
    ).toBe(TOKEN);
    expect(
      getBearerToken({ rawHeaders: ['authorization', `bEaReR   ${TOKEN}  `], query: 'page=2' }),
    ).toBe(TOKEN);
  });

  test('no credentials, or another scheme: 401 with a bare challenge', () => {
    for (const rawHeaders of [
      [],
      ['Authorization', ''],
      ['Authorization', 'Basic YWxpY2U6c2VjcmV0'],
      ['Authorization', 'Bearerx abc'],
      ['X-Authorization', `Bearer ${TOKEN}`],
    ]) {
      const error = thrown(() => getBearerToken({ rawHeaders }));
      expect(error).toBeInstanceOf(MissingTokenError);
      expect(error).toMatchObject({
        code: 'ERR_BEARER_MISSING_TOKEN',
        status: 401,
        expose: true,
        error: undefined,
        message: 'This resource needs a bearer access token in the Authorization header',
        headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
      });
    }
  });

  test('two Authorization headers: 400 invalid_request', () => {
    const error = thrown(() =>
      getBearerToken({
        rawHeaders: ['Authorization', `Bearer ${TOKEN}`, 'AUTHORIZATION', `Bearer ${TOKEN}`],
      }),
    );
    expect(error).toMatchObject({
      code: 'ERR_BEARER_INVALID_REQUEST',
      reason: 'multiple_authorization_headers',
      status: 400,
      headers: {
        'WWW-Authenticate':
          'Bearer realm="api", error="invalid_request", error_description="The request carries more than one Authorization header"',
      },
    });
  });

  test('Bearer without exactly one token: 400 invalid_request', () => {
    for (const header of [
      `Bearer ${TOKEN} ${TOKEN}`,
      `Bearer\t${TOKEN}`,
      `Bearer ${TOKEN}\u00a0x`,
      'Bearer ',
      'Bearer',
      'Bearer  ',
      'bearer\u00a0abc',
    ]) {
      const error = thrown(() => getBearerToken({ rawHeaders: ['Authorization', header] }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({
        reason: 'malformed_authorization',
        message: 'The Authorization header must be "Bearer <token>" with exactly one token',
      });
    }
  });

  test('a token in the query string, also under a percent-encoded name: 400, even with a header', () => {
    for (const query of [
      `access_token=${TOKEN}`,
      `a=1&access%5Ftoken=${TOKEN}`,
      `%61ccess_token=${TOKEN}`,
      'access_token',
    ]) {
      for (const rawHeaders of [[], ['Authorization', `Bearer ${TOKEN}`]]) {
        const error = thrown(() => getBearerToken({ rawHeaders, query }));
        expect(error).toMatchObject({
          reason: 'token_in_query',
          status: 400,
          headers: {
            'WWW-Authenticate':
              'Bearer realm="api", error="invalid_request", error_description="Send the access token only in the Authorization header, not in the query string"',
          },
        });
      }
    }
    // Names that only look alike are other parameters.
    expect(
      getBearerToken({
        rawHeaders: ['Authorization', `Bearer ${TOKEN}`],
        query: 'my_access_token=1&access_tokens=2&q=%20',
      }),
    ).toBe(TOKEN);
  });

  test('a token in a parsed body (form or JSON object): 400', () => {
    const error = thrown(() =>
      getBearerToken({
        rawHeaders: ['Authorization', `Bearer ${TOKEN}`],
        body: { access_token: TOKEN, note: 'x' },
      }),
    );
    expect(error).toMatchObject({
      reason: 'token_in_body',
      message: 'Send the access token only in the Authorization header, not in the request body',
    });
    for (const body of [['access_token'], 'access_token=x', null, { note: 'access_token' }]) {
      expect(() => assertNoBodyToken(body)).not.toThrow();
    }
    // An inherited name is not the body's own field.
    expect(() => assertNoBodyToken(Object.create({ access_token: 'x' }))).not.toThrow();
  });

  test('the realm option names the realm', () => {
    expect(thrown(() => getBearerToken({ rawHeaders: [] }, { realm: 'data' }))).toMatchObject({
      headers: { 'WWW-Authenticate': 'Bearer realm="data"' },
    });
    expect(thrown(() => assertNoQueryToken('access_token=x', { realm: 'data' }))).toMatchObject({
      headers: { 'WWW-Authenticate': expect.stringMatching(/^Bearer realm="data", error=/) },
    });
  });
});

describe('authorizationHeaderOf', () => {
  test('finds the header whatever its case, skips the others', () => {
    expect(authorizationHeaderOf(['Host', 'x', 'AuThOrIzAtIoN', 'Bearer t', 'Accept', '*/*'])).toBe(
      'Bearer t',
    );
    expect(authorizationHeaderOf(['Host', 'x', 'Proxy-Authorization', 'Basic y'])).toBeUndefined();
  });
});

describe('tokenFromAuthorization', () => {
  // The grammar the API accepted with a regex before (commit 1078ca9), as the reference.
  function reference(header: string): string | 'missing' | 'invalid' {
    if (header === '' || !/^Bearer(\s|$)/i.test(header)) return 'missing';
    return /^Bearer +([^\s]+) *$/i.exec(header)?.[1] ?? 'invalid';
  }
  function actual(header: string): string | 'missing' | 'invalid' {
    try {
      return tokenFromAuthorization(header);
    } catch (error) {
      if (error instanceof MissingTokenError) return 'missing';
      if (error instanceof InvalidRequestError) return 'invalid';
      throw error;
    }
  }

  test('agrees with the regex on 50 000 generated headers', () => {
    // Deterministic (mulberry32): a failure names a header that can be replayed.
    let seed = 0x6750;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const prefixes = [
      'Bearer',
      'bearer',
      'BEARER',
      'BeArEr',
      'Bearer',
      'Basic',
      'Bear',
      'Bearerx',
      '',
    ];
    const pieces = [
      ' ',
      '  ',
      '\t',
      '\u00a0',
      '\u2028',
      'a',
      'Z',
      '9',
      '.',
      '-',
      '_',
      '=',
      '~',
      'é',
    ];
    let differences = 0;
    for (let i = 0; i < 50_000; i++) {
      let header = pick(prefixes);
      const length = Math.floor(random() * 12);
      for (let j = 0; j < length; j++) header += pick(pieces);
      if (actual(header) !== reference(header)) {
        differences++;
        if (differences === 1)
          expect({ header, actual: actual(header) }).toEqual({ header, actual: reference(header) });
      }
    }
    expect(differences).toBe(0);
  });
});
