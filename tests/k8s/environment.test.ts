// Every variable a service requires at start is provided by each overlay, and valid: the
// services' own config readers (the code that stops a misconfigured process) read the
// environment each container would get from the rendered objects.
import { beforeAll, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '@koa-entra/fake-entra';
import { loadConfig as loadApiConfig } from '@koa-entra/api';
import { loadConfig as loadClientConfig } from '@koa-entra/client';
import { describeWith } from '../support/prerequisites.ts';
import { resolveEnv } from './support/environment.ts';
import {
  containerEnv,
  ENTRA_SAMPLE_SETTINGS,
  ENTRA_SECRETS,
  fillPlaceholders as fill,
} from './support/entra-samples.ts';
import { find, k8sDir, kubectl, OVERLAYS, renderOverlay, repoRoot } from './support/render.ts';
import type { K8sObject, Overlay } from './support/render.ts';
import { workload } from './support/workloads.ts';

describeWith([kubectl], 'k8s manifests: service configuration', () => {
  const rendered = new Map<Overlay, K8sObject[]>();
  beforeAll(async () => {
    for (const overlay of OVERLAYS) rendered.set(overlay, await renderOverlay(overlay));
  });

  test('fake-entra: both services start with the environment the overlay gives them', () => {
    const objects = rendered.get('fake-entra')!;
    const api = loadApiConfig(containerEnv(objects, 'Deployment/api', 'fake-entra').env);
    expect(api).toMatchObject({
      port: 8000,
      tenantId: DEFAULTS.tenantId,
      apiClientId: DEFAULTS.apiClientId,
      authority: 'https://fake-entra:5050',
      databaseUrl: expect.stringMatching(/^postgres:\/\/[^@]+@postgres:5432\//),
    });
    const client = loadClientConfig(containerEnv(objects, 'Deployment/client', 'fake-entra').env);
    expect(client).toMatchObject({
      port: 5001,
      clientId: DEFAULTS.webClientId,
      clientSecret: DEFAULTS.webClientSecret,
      authority: `https://fake-entra:5050/${DEFAULTS.tenantId}`,
      // API_SCOPES split by name: reading asks the .read scope, writing the .write scope.
      apiReadScopes: DEFAULTS.apiScopes.filter((s) => s.endsWith('/data.read')),
      apiWriteScopes: DEFAULTS.apiScopes.filter((s) => s.endsWith('/data.write')),
      knownAuthorities: ['fake-entra:5050'],
      apiBaseUrl: 'http://api:8000',
      graphBaseUrl: 'https://fake-entra:5050',
      redirectUri: 'https://koa-entra.localhost/auth/redirect',
      trustProxy: true,
    });
    // Several replicas: sessions and the token cache must be shared, through the password-protected Redis.
    const redisPassword = containerEnv(objects, 'Deployment/redis', 'fake-entra').env
      .REDIS_PASSWORD;
    expect(client.redisUrl).toBe(`redis://:${redisPassword}@redis:6379/0`);
  });

  test('fake-entra: the API connects with the credentials PostgreSQL is initialised with', () => {
    const objects = rendered.get('fake-entra')!;
    const url = new URL(
      loadApiConfig(containerEnv(objects, 'Deployment/api', 'fake-entra').env).databaseUrl!,
    );
    const pg = containerEnv(objects, 'StatefulSet/postgres', 'fake-entra').env;
    expect({
      user: url.username,
      password: decodeURIComponent(url.password),
      db: url.pathname.slice(1),
      host: url.hostname,
    }).toEqual({
      user: pg.POSTGRES_USER,
      password: pg.POSTGRES_PASSWORD,
      db: pg.POSTGRES_DB,
      host: 'postgres',
    });
  });

  test('fake-entra: the issuer knows the web app, its redirect URIs, the API and the tenant', () => {
    const objects = rendered.get('fake-entra')!;
    const client = loadClientConfig(containerEnv(objects, 'Deployment/client', 'fake-entra').env);
    const api = loadApiConfig(containerEnv(objects, 'Deployment/api', 'fake-entra').env);
    const fakeArgs = workload(objects, 'Deployment/fake-entra').template.spec!.containers[0]!.args!;
    const arg = (flag: string) => fakeArgs[fakeArgs.indexOf(flag) + 1]!;
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && /^fake-entra-config-/.test(o.metadata.name),
    )!;
    const config = JSON.parse(
      (configMap.data as Record<string, string>)[arg('--config').split('/').pop()!]!,
    );
    const app = config.clients.find((c: { clientId: string }) => c.clientId === client.clientId);
    expect(app).toMatchObject({ secret: client.clientSecret });
    expect(app.redirectUris).toContain(client.redirectUri);
    // Entra sends the browser back after sign-out only to a registered redirect URI.
    expect(app.redirectUris).toContain(client.postLogoutRedirectUri);
    expect(app.frontChannelLogoutUrl).toBe(
      `${new URL(client.redirectUri).origin}/auth/front-channel-logout`,
    );
    expect(config.apis.map((a: { clientId: string }) => a.clientId)).toContain(api.apiClientId);
    expect(config.tenants.map((t: { id: string }) => t.id)).toEqual(
      expect.arrayContaining([api.tenantId, client.tenantId]),
    );
    // The overlay's issuer configuration is the fake's default plus the Ingress URIs, nothing else.
    const defaults = JSON.parse(
      readFileSync(join(repoRoot, 'packages/fake-entra/config/default.json'), 'utf8'),
    );
    const stripped = structuredClone(config);
    for (const c of stripped.clients) {
      if (c.redirectUris)
        c.redirectUris = c.redirectUris.filter(
          (u: string) => u !== client.redirectUri && u !== client.postLogoutRedirectUri,
        );
    }
    const defaultWebApp = defaults.clients.find(
      (c: { clientId: string }) => c.clientId === client.clientId,
    );
    stripped.clients.find(
      (c: { clientId: string }) => c.clientId === client.clientId,
    ).frontChannelLogoutUrl = defaultWebApp.frontChannelLogoutUrl;
    delete stripped.$comment;
    delete defaults.$comment;
    expect(stripped).toEqual(defaults);
    // Tokens carry iss = {issuer-url}/{tenant}/v2.0: the same base both services are given,
    // on a host the issuer's certificate names.
    expect(arg('--issuer-url')).toBe(api.authority);
    expect(client.authorityBase).toBe(api.authority);
    expect(arg('--tls-hostnames').split(',')).toContain(new URL(api.authority).hostname);
    expect(find(objects, 'Service', new URL(api.authority).hostname)).toBeDefined();
    // The browser reaches the issuer's pages through the Ingress host of --public-url.
    const ingressHosts = find<{ spec: { rules: { host: string }[] } }>(
      objects,
      'Ingress',
      'client',
    ).spec.rules.map((r) => r.host);
    expect(ingressHosts).toEqual(
      expect.arrayContaining([
        new URL(arg('--public-url')).hostname,
        new URL(client.redirectUri).hostname,
      ]),
    );
  });

  test('fake-entra: api and client trust exactly the CA the issuer signs its certificate with', () => {
    const objects = rendered.get('fake-entra')!;
    const fake = workload(objects, 'Deployment/fake-entra').template.spec!;
    const caDir = fake.containers[0]!.args![fake.containers[0]!.args!.indexOf('--ca-dir') + 1];
    const caMount = fake.containers[0]!.volumeMounts!.find((m) => m.mountPath === caDir)!;
    const caSecret = fake.volumes!.find((v) => v.name === caMount.name)!.secret!.secretName!;
    const issuerCa = Buffer.from(
      (find(objects, 'Secret', caSecret).data as Record<string, string>)['ca.pem']!,
      'base64',
    ).toString();
    expect(issuerCa).toBe(readFileSync(join(k8sDir, 'overlays/fake-entra/dev-ca/ca.pem'), 'utf8'));
    for (const owner of ['Deployment/api', 'Deployment/client']) {
      const { template } = workload(objects, owner);
      const container = template.spec!.containers[0]!;
      const file = resolveEnv(objects, container).env.NODE_EXTRA_CA_CERTS!;
      const mount = container.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`))!;
      const volume = template.spec!.volumes!.find((v) => v.name === mount.name)!;
      const trusted = (
        find(objects, 'ConfigMap', volume.configMap!.name!).data as Record<string, string>
      )[file.slice(mount.mountPath.length + 1)];
      expect({ owner, trusted }).toEqual({ owner, trusted: issuerCa });
    }
  });

  test('entra: placeholders stop the services with an error naming the variable until filled in', () => {
    const objects = rendered.get('entra')!;
    const apiEnv = containerEnv(objects, 'Deployment/api', 'entra').env;
    const clientEnv = containerEnv(objects, 'Deployment/client', 'entra').env;
    // The contract: a startup error that names each bad variable (wording is the services' own).
    expect(() => loadApiConfig(apiEnv)).toThrow(/TENANT_ID/);
    expect(() => loadApiConfig(apiEnv)).toThrow(/API_CLIENT_ID/);
    expect(() => loadClientConfig(clientEnv)).toThrow(/\bCLIENT_ID\b/);
    expect(() => loadClientConfig(clientEnv)).toThrow(/TENANT_ID/);
    const placeholders = Object.entries({ ...apiEnv, ...clientEnv })
      .filter(([, v]) => v.includes('REPLACE_ME'))
      .map(([k]) => k);
    expect(placeholders.sort()).toEqual(['API_CLIENT_ID', 'API_SCOPES', 'CLIENT_ID', 'TENANT_ID']);
  });

  test('entra: once filled in, both services start against the real Entra ID with referenced secrets', () => {
    const objects = rendered.get('entra')!;
    const api = containerEnv(objects, 'Deployment/api', 'entra');
    const client = containerEnv(objects, 'Deployment/client', 'entra');
    expect(loadApiConfig(fill(api.env))).toMatchObject({
      port: 8000,
      authority: 'https://login.microsoftonline.com',
      tenantId: ENTRA_SAMPLE_SETTINGS['REPLACE_ME-tenant-guid'],
      databaseUrl: ENTRA_SECRETS['api-database/url'],
    });
    const web = loadClientConfig(fill(client.env));
    expect(web).toMatchObject({
      port: 5001,
      authority: `https://login.microsoftonline.com/${ENTRA_SAMPLE_SETTINGS['REPLACE_ME-tenant-guid']}`,
      knownAuthorities: [],
      graphBaseUrl: 'https://graph.microsoft.com',
      apiReadScopes: [
        `api://${ENTRA_SAMPLE_SETTINGS['REPLACE_ME-api-application-guid']}/data.read`,
      ],
      apiWriteScopes: [
        `api://${ENTRA_SAMPLE_SETTINGS['REPLACE_ME-api-application-guid']}/data.write`,
      ],
      redisUrl: `redis://:${ENTRA_SECRETS['redis-auth/password']}@redis:6379/0`,
      trustProxy: true,
    });
    const ingress = find<{ spec: { rules: { host: string }[]; tls: { hosts: string[] }[] } }>(
      objects,
      'Ingress',
      'client',
    );
    expect(ingress.spec.rules.map((r) => r.host)).toEqual([new URL(web.redirectUri).hostname]);
    expect(ingress.spec.tls[0]!.hosts).toEqual([new URL(web.redirectUri).hostname]);
    expect(new URL(web.redirectUri).protocol).toBe('https:');
    // Every secret the overlay reads is one the README tells the operator to create.
    const readme = readFileSync(join(k8sDir, 'README.md'), 'utf8');
    const read = [
      ...new Set([
        ...api.secretsRead,
        ...client.secretsRead,
        ...containerEnv(objects, 'Deployment/redis', 'entra').secretsRead,
      ]),
    ].sort();
    expect(read).toEqual(Object.keys(ENTRA_SECRETS).sort());
    for (const entry of read) {
      const [name, key] = entry.split('/');
      expect(readme).toMatch(
        new RegExp(
          `kubectl -n koa-entra create secret generic ${name}\\b[^\\n]*--from-[a-z-]+=${key}=`,
        ),
      );
    }
  });
});
