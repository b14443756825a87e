import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig } from '../src/config.ts';
import { safeReturnPath } from '../src/auth/return-to.ts';

const minimal = {
  TENANT_ID: '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e',
  CLIENT_ID: '0d7f3a52-9c1b-4e8a-b6f4-2c5e8a1d9b37',
  CLIENT_SECRET: 's',
  SESSION_KEYS: 'k'.repeat(32),
  API_READ_SCOPES: 'api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.read',
  API_WRITE_SCOPES: 'api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.write',
};

describe('configuration', () => {
  test('defaults follow DESIGN.md; Microsoft authorities need no knownAuthorities', () => {
    const c = loadConfig(minimal);
    expect(c.port).toBe(5001);
    expect(c.authority).toBe(
      'https://login.microsoftonline.com/3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e',
    );
    expect(c.knownAuthorities).toEqual([]);
    expect(c.redirectUri).toBe('http://localhost:5001/auth/redirect');
    expect(c.postLogoutRedirectUri).toBe('http://localhost:5001/');
    expect(c.graphBaseUrl).toBe('https://graph.microsoft.com');
    expect(c.apiReadScopes).toEqual(['api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.read']);
    expect(c.apiWriteScopes).toEqual(['api://c750c37c-6c67-4211-a9e2-6f035a897cfa/data.write']);
    expect(c.sessionCookieName).toBe('webapp.sid'); // http: no __Host- prefix (browsers refuse it)
    expect(c.secureCookies).toBe(false);
    expect(c.redisUrl).toBeUndefined();
    expect(c.trustProxy).toBe(false);
  });

  test('API scopes have no default: the API of a real tenant is never guessed', () => {
    const { API_READ_SCOPES: _r, API_WRITE_SCOPES: _w, ...withoutScopes } = minimal;
    expect(() => loadConfig(withoutScopes)).toThrow(/API_READ_SCOPES: is required/);
  });

  test('API_SCOPES (one list) still works: .read scopes read, .write scopes write', () => {
    const { API_READ_SCOPES: _r, API_WRITE_SCOPES: _w, ...rest } = minimal;
    const c = loadConfig({ ...rest, API_SCOPES: 'api://a/data.read api://a/data.write' });
    expect(c.apiReadScopes).toEqual(['api://a/data.read']);
    expect(c.apiWriteScopes).toEqual(['api://a/data.write']);
    expect(() => loadConfig({ ...rest, API_SCOPES: 'api://a/data.read' })).toThrow(
      /API_SCOPES: must name a scope ending in \.read and one ending in \.write/,
    );
  });

  test('another issuer host becomes the only known authority; keys rotate', () => {
    const c = loadConfig({
      ...minimal,
      AUTHORITY: 'https://fake-entra:5050/',
      SESSION_KEYS: `${'n'.repeat(32)}, ${'o'.repeat(40)}`,
    });
    expect(c.authority).toBe('https://fake-entra:5050/3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e');
    expect(c.knownAuthorities).toEqual(['fake-entra:5050']);
    expect(c.sessionKeys).toEqual(['n'.repeat(32), 'o'.repeat(40)]);
  });

  test.each([
    [{ CLIENT_ID: undefined }, /CLIENT_ID: is required/],
    [{ CLIENT_ID: 'not-a-guid' }, /CLIENT_ID: must be a GUID/],
    [{ CLIENT_SECRET: undefined }, /CLIENT_SECRET: is required/],
    [{ SESSION_KEYS: undefined }, /SESSION_KEYS: is required/],
    [{ SESSION_KEYS: 'short' }, /SESSION_KEYS: every key must be at least 32 characters/],
    [{ AUTHORITY: 'http://login.example' }, /AUTHORITY: must be an absolute URL with scheme https/],
    [{ REDIRECT_URI: 'not a url' }, /REDIRECT_URI: must be an absolute URL/],
    [
      { REDIS_URL: 'http://redis:6379' },
      /REDIS_URL: must be an absolute URL with scheme redis or rediss/,
    ],
    [{ PORT: '70000' }, /PORT: must be at most 65535/],
    [{ PORT: 'x' }, /PORT: must be a whole number from 0 to 65535/],
    [{ TRUST_PROXY: 'yes' }, /TRUST_PROXY: must be true or false/],
    [{ TRUST_PROXY: 'maybe' }, /TRUST_PROXY: must be true or false/],
  ])('%j is refused naming the variable', (override, message) => {
    expect(() => loadConfig({ ...minimal, ...override })).toThrow(message);
  });

  test('every missing variable is named at once, with what it is', () => {
    expect(() => loadConfig({})).toThrow(
      new ConfigError([
        {
          variable: 'TENANT_ID',
          problem: 'is required (the directory (tenant) id of the app registration)',
        },
        { variable: 'CLIENT_ID', problem: "is required (the web app's application (client) id)" },
        { variable: 'CLIENT_SECRET', problem: "is required (the web app's client secret)" },
        {
          variable: 'SESSION_KEYS',
          problem:
            'is required (comma-separated secrets of at least 32 characters; the first signs, all verify)',
        },
        {
          variable: 'API_READ_SCOPES',
          problem:
            'is required: the full scope URI a page that reads (API_READ_SCOPES) or a form that writes (API_WRITE_SCOPES) asks for, e.g. api://<API client id>/data.read (or API_SCOPES with both)',
        },
      ]).message,
    );
  });

  test('an empty variable means unset: the default applies', () => {
    const c = loadConfig({ ...minimal, PORT: '', TRUST_PROXY: '', LOG_LEVEL: '' });
    expect(c.port).toBe(5001);
    expect(c.trustProxy).toBe(false);
    expect(c.logLevel).toBe('info');
  });
});

describe('return-to path', () => {
  test.each([
    ['/read', '/read'],
    ['/read?x=1&y=2', '/read?x=1&y=2'],
    ['/write#frag', '/write'],
    ['', '/'],
    [undefined, '/'],
    [['/a', '/b'], '/'],
    ['read', '/'],
    ['https://evil.example/', '/'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['/%2fevil.example', '/'],
    ['/%5Cevil.example', '/'],
    ['/\tevil', '/'],
    ['javascript:alert(1)', '/'],
    ['/auth/redirect?code=x', '/'],
    ['/' + 'a'.repeat(3000), '/'],
  ])('%j -> %s', (input, expected) => {
    expect(safeReturnPath(input)).toBe(expected);
  });
});
