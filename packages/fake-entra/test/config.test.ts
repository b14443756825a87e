/* eslint-disable @typescript-eslint/no-explicit-any -- the table rows mutate parsed JSON */
// The configuration file is validated at start; errors name the offending field.
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DEFAULT_CONFIG_FILE,
  DEFAULTS,
  FakeEntra,
  GRAPH_APP_ID,
  GRAPH_RESOURCE,
  loadConfig,
  parseConfig,
} from '../src/index.ts';

const defaultJson = () => JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8'));

describe('configuration', () => {
  test('DEFAULTS are the identities of the default file, each in the role its name says', () => {
    const config = loadConfig();
    expect(DEFAULTS.graphClientId).toBe(GRAPH_APP_ID);
    expect(DEFAULTS.graphIdentifier).toBe(GRAPH_RESOURCE);
    expect(DEFAULTS.apiIdentifier).toBe(`api://${DEFAULTS.apiClientId}`);
    expect(DEFAULTS.apiScopes).toEqual([
      `${DEFAULTS.apiIdentifier}/data.read`,
      `${DEFAULTS.apiIdentifier}/data.write`,
    ]);
    expect(Object.isFrozen(DEFAULTS.users.alice)).toBe(true);
    expect(config.tenants[0]!.id).toBe(DEFAULTS.tenantId);
    const api = config.apis.find((a) => a.clientId === DEFAULTS.apiClientId)!;
    expect(api).toMatchObject({
      identifier: DEFAULTS.apiIdentifier,
      scopes: ['data.read', 'data.write'],
      appRoles: ['Data.Read.All'],
    });
    expect(config.apis.find((a) => a.clientId === DEFAULTS.graphClientId)?.identifier).toBe(
      DEFAULTS.graphIdentifier,
    );
    const web = config.clients.find((c) => c.clientId === DEFAULTS.webClientId)!;
    // Single-tenant; the post-logout page is a registered redirect URI (no separate list).
    expect(web).toMatchObject({
      secret: DEFAULTS.webClientSecret,
      signInAudience: 'AzureADMyOrg',
      redirectUris: [DEFAULTS.webRedirectUri, DEFAULTS.webPostLogoutRedirectUri],
      frontChannelLogoutUrl: DEFAULTS.webFrontChannelLogoutUrl,
      optionalClaims: { idToken: ['login_hint'] },
    });
    expect(DEFAULTS.webFrontChannelLogoutUrl).toBe(
      'http://localhost:5001/auth/front-channel-logout',
    );
    expect(config.tenants[1]!.id).toBe(DEFAULTS.secondTenantId);
    expect(config.users.find((u) => u.upn === DEFAULTS.users.carol.upn)).toMatchObject({
      tenant: DEFAULTS.secondTenantId,
      consents: [],
    });
    const daemon = config.clients.find((c) => c.clientId === DEFAULTS.daemonClientId)!;
    expect(daemon).toMatchObject({
      secret: DEFAULTS.daemonClientSecret,
      appRoles: [`${DEFAULTS.apiIdentifier}/Data.Read.All`],
    });
    for (const user of Object.values(DEFAULTS.users)) {
      expect(config.users.find((u) => u.upn === user.upn)).toMatchObject(user);
    }
    const consents = (upn: string) =>
      config.users
        .find((u) => u.upn === upn)!
        .consents.filter((c) => typeof c === 'string' && c.startsWith(DEFAULTS.apiIdentifier));
    expect(consents(DEFAULTS.users.alice.upn)).toEqual([
      `${DEFAULTS.apiIdentifier}/data.read`,
      `${DEFAULTS.apiIdentifier}/data.write`,
    ]);
    expect(consents(DEFAULTS.users.bob.upn)).toEqual([`${DEFAULTS.apiIdentifier}/data.read`]);
  });

  test.each([
    ['a bad GUID', (c: any) => (c.users[1].oid = 'not-a-guid'), /users\[1\]\.oid: Invalid GUID/],
    ['a missing field', (c: any) => delete c.apis[0].clientId, /apis\[0\]\.clientId: /],
    ['no tenants', (c: any) => (c.tenants = []), /tenants: /],
    [
      'an unknown field',
      (c: any) => (c.clients[0].redirectUri = 'x'),
      /clients\[0\]: .*redirectUri/,
    ],
    [
      'a redirect URI that is no URL',
      (c: any) => (c.clients[0].redirectUris = ['localhost:5001']),
      /clients\[0\]\.redirectUris\[0\]: /,
    ],
    [
      'a consent to an unknown scope',
      (c: any) => c.users[0].consents.push(`${DEFAULTS.apiIdentifier}/data.delete`),
      /users\[0\]\.consents\[3\]: API "api:\/\/c750c37c-6c67-4211-a9e2-6f035a897cfa" has no scope "data.delete"/,
    ],
    [
      'a permission on an unknown API',
      (c: any) => c.clients[0].permissions.push('api://nope/x'),
      /clients\[0\]\.permissions\[3\]: "api:\/\/nope\/x" names no configured API/,
    ],
    [
      'a duplicate user',
      (c: any) => (c.users[1].upn = c.users[0].upn),
      /users\[1\]\.upn: duplicate upn/,
    ],
    [
      'an unknown tenant',
      (c: any) => (c.users[0].tenant = '11111111-1111-4111-8111-111111111111'),
      /users\[0\]\.tenant: unknown tenant/,
    ],
    [
      'the removed postLogoutRedirectUris',
      (c: any) => (c.clients[0].postLogoutRedirectUris = ['http://localhost:5001/']),
      /clients\[0\]\.postLogoutRedirectUris: was removed: Entra sends the browser after sign-out only to one of the app's redirectUris/,
    ],
    [
      'an unknown sign-in audience',
      (c: any) => (c.clients[0].signInAudience = 'Everyone'),
      /clients\[0\]\.signInAudience: Invalid option: expected one of "AzureADMyOrg"\|"AzureADMultipleOrgs"/,
    ],
    [
      'a front-channel logout URL on plain http elsewhere than localhost',
      (c: any) => (c.clients[0].frontChannelLogoutUrl = 'http://app.example/logout'),
      /clients\[0\]\.frontChannelLogoutUrl: must be https \(http only on localhost\)/,
    ],
    [
      'an optional claim the fake does not issue',
      (c: any) => (c.clients[0].optionalClaims = { idToken: ['ipaddr'] }),
      /clients\[0\]\.optionalClaims\.idToken\[0\]: /,
    ],
    [
      'an admin-only scope the API does not have',
      (c: any) => (c.apis[0].adminOnlyScopes = ['data.admin']),
      /apis\[0\]\.adminOnlyScopes\[0\]: "data.admin" is not one of the API's scopes/,
    ],
    [
      'an admin consent for an unknown app',
      (c: any) =>
        (c.tenants[0].adminConsents = [
          { client: '11111111-1111-4111-8111-111111111111', permissions: ['User.Read'] },
        ]),
      /tenants\[0\]\.adminConsents\[0\]\.client: unknown client/,
    ],
    [
      'an admin consent to an unknown scope',
      (c: any) =>
        (c.tenants[0].adminConsents = [
          { client: c.clients[0].clientId, permissions: [`${DEFAULTS.apiIdentifier}/nope`] },
        ]),
      /tenants\[0\]\.adminConsents\[0\]\.permissions\[0\]: API .* has no scope "nope"/,
    ],
    [
      'a per-app consent for an unknown app',
      (c: any) =>
        c.users[0].consents.push({
          client: '11111111-1111-4111-8111-111111111111',
          permissions: [`${DEFAULTS.apiIdentifier}/data.read`],
        }),
      /users\[0\]\.consents\[3\]\.client: unknown client/,
    ],
    [
      'a usersCanConsent that is not a boolean',
      (c: any) => (c.tenants[0].usersCanConsent = 'no'),
      /tenants\[0\]\.usersCanConsent: /,
    ],
  ])('rejects %s, naming the field', (_name, mutate, message) => {
    const config = defaultJson();
    mutate(config);
    expect(() => parseConfig(config, 'test.json')).toThrow(ConfigError);
    expect(() => parseConfig(config, 'test.json')).toThrow(message);
  });

  test('names the file when it is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-entra-config-'));
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(
      /cannot read fake-entra configuration file .*missing\.json/,
    );
    writeFileSync(join(dir, 'bad.json'), '{ "tenants": [');
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/bad\.json is not valid JSON/);
    const config = defaultJson();
    config.users[0].name = '';
    writeFileSync(join(dir, 'invalid.json'), JSON.stringify(config));
    expect(() => loadConfig(join(dir, 'invalid.json'))).toThrow(
      /invalid\.json: users\[0\]\.name: /,
    );
  });

  test('FakeEntra.start refuses a bad configuration and bad lifetimes', async () => {
    await expect(FakeEntra.start({ config: { tenants: [] } })).rejects.toThrow(/tenants: /);
    await expect(FakeEntra.start({ lifetimes: { accessToken: 0 } })).rejects.toThrow(
      /lifetimes\.accessToken must be a positive number/,
    );
  });
});
