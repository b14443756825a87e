// The offline identities (tenant, client ids, secrets, users, the web app's redirect URI) have
// one source: the fake issuer's config/default.json, read as DEFAULTS. Compose, Kubernetes,
// .env.example and the READMEs keep literal values (people copy them); this checks that every
// such literal is a DEFAULTS value, that each file carries the ones it must, and that the files
// for real Entra ID carry none.
import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '@koa-entra/fake-entra';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set(['node_modules', '.git', 'dist', '.certs', '.data', 'coverage']);

function walk(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path, keep);
    return keep(path) ? [relative(root, path)] : [];
  });
}

/** Compose's `${VAR:-default}` becomes its default, as an unset variable would. */
const interpolate = (text: string) => text.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
const read = (file: string) => interpolate(readFileSync(join(root, file), 'utf8'));

const FILES = [
  'docker-compose.yml',
  'docker-compose.entra.yml',
  '.env.example',
  ...walk(join(root, 'k8s'), (f) => /\.(ya?ml|json|env|md)$/.test(f)),
  ...walk(root, (f) => f.endsWith('README.md')),
].filter((f, i, all) => all.indexOf(f) === i);

const { alice, bob, carol } = DEFAULTS.users;
const GUIDS = new Set(
  [
    DEFAULTS.tenantId,
    DEFAULTS.secondTenantId,
    carol.oid,
    DEFAULTS.apiClientId,
    DEFAULTS.webClientId,
    DEFAULTS.daemonClientId,
    DEFAULTS.docsClientId,
    DEFAULTS.graphClientId,
    alice.oid,
    bob.oid,
  ].map((g) => g.toLowerCase()),
);
const SECRETS = new Set([DEFAULTS.webClientSecret, DEFAULTS.daemonClientSecret]);
const UPNS = new Set([alice.upn, bob.upn]);
const API_SCOPES = DEFAULTS.apiScopes.join(' ');

/** A placeholder for a real tenant's value: one hex digit throughout (00000000-0000-…). */
const isPlaceholder = (guid: string) => new Set(guid.replace(/-/g, '').slice(0, 8)).size === 1;

/**
 * The web app's registered redirect URI or its front-channel logout URL; on http://localhost
 * any port matches (as in Entra).
 */
function isWebRedirectUri(uri: string): boolean {
  const url = new URL(uri);
  url.port = new URL(DEFAULTS.webRedirectUri).port;
  return [DEFAULTS.webRedirectUri, DEFAULTS.webFrontChannelLogoutUrl].includes(url.toString());
}

interface Literal {
  file: string;
  line: number;
  value: string;
}

function literals(file: string, pattern: RegExp): Literal[] {
  return read(file)
    .split('\n')
    .flatMap((text, i) =>
      [...text.matchAll(pattern)].map((m) => ({ file, line: i + 1, value: m[0] })),
    );
}

const where = (l: Literal) => `${l.file}:${l.line} ${l.value}`;

describe('offline identities in compose, Kubernetes, .env.example and the READMEs', () => {
  test('the files checked include every kind of place', () => {
    expect(FILES).toEqual(
      expect.arrayContaining([
        'docker-compose.yml',
        'k8s/overlays/fake-entra/kustomization.yaml',
        'k8s/overlays/fake-entra/fake-entra.json',
        'README.md',
        'services/client/README.md',
        'services/api/README.md',
        'packages/fake-entra/README.md',
      ]),
    );
  });

  test('every GUID is a DEFAULTS value or a placeholder', () => {
    const stray = FILES.flatMap((f) =>
      literals(f, /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi),
    ).filter((l) => !GUIDS.has(l.value.toLowerCase()) && !isPlaceholder(l.value));
    expect(stray.map(where)).toEqual([]);
  });

  test('every client secret, user and localhost redirect URI is a DEFAULTS value', () => {
    const stray = FILES.flatMap((f) => [
      ...literals(f, /\bdev-[a-z0-9-]*secret[a-z0-9-]*/g).filter((l) => !SECRETS.has(l.value)),
      ...literals(f, /[\w.+-]+@contoso\.test\b/g).filter((l) => !UPNS.has(l.value)),
      ...literals(f, /https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/auth\/[\w/-]*/g).filter(
        (l) => !isWebRedirectUri(l.value),
      ),
    ]);
    expect(stray.map(where)).toEqual([]);
  });

  // What each file must carry for the offline system to work (or for a reader to copy).
  const MUST: [string, string[]][] = [
    [
      'docker-compose.yml',
      [
        DEFAULTS.tenantId,
        DEFAULTS.apiClientId,
        DEFAULTS.webClientId,
        DEFAULTS.webClientSecret,
        API_SCOPES,
        DEFAULTS.webRedirectUri,
      ],
    ],
    [
      'k8s/overlays/fake-entra/kustomization.yaml',
      [
        DEFAULTS.tenantId,
        DEFAULTS.apiClientId,
        DEFAULTS.webClientId,
        DEFAULTS.webClientSecret,
        API_SCOPES,
      ],
    ],
    [
      'k8s/overlays/fake-entra/fake-entra.json',
      [
        DEFAULTS.tenantId,
        DEFAULTS.apiClientId,
        DEFAULTS.apiIdentifier,
        DEFAULTS.webClientId,
        DEFAULTS.webClientSecret,
        DEFAULTS.webRedirectUri,
        DEFAULTS.webPostLogoutRedirectUri,
        DEFAULTS.daemonClientId,
        DEFAULTS.daemonClientSecret,
        DEFAULTS.graphClientId,
        alice.upn,
        alice.oid,
        bob.upn,
        bob.oid,
      ],
    ],
    ['services/api/README.md', [DEFAULTS.tenantId, DEFAULTS.apiClientId]],
    [
      'services/client/README.md',
      [
        DEFAULTS.tenantId,
        DEFAULTS.webClientId,
        DEFAULTS.webClientSecret,
        API_SCOPES,
        DEFAULTS.webRedirectUri,
      ],
    ],
    [
      'packages/fake-entra/README.md',
      [
        DEFAULTS.tenantId,
        DEFAULTS.apiClientId,
        DEFAULTS.apiIdentifier,
        DEFAULTS.webClientId,
        DEFAULTS.webClientSecret,
        DEFAULTS.webRedirectUri,
        DEFAULTS.webPostLogoutRedirectUri,
        DEFAULTS.daemonClientId,
        DEFAULTS.daemonClientSecret,
        DEFAULTS.graphClientId,
        DEFAULTS.graphIdentifier,
        alice.upn,
        alice.oid,
        bob.upn,
        bob.oid,
      ],
    ],
    ['README.md', [DEFAULTS.webRedirectUri, alice.upn]],
  ];

  test.each(MUST)('%s carries the DEFAULTS values it must', (file, values) => {
    const text = read(file);
    expect(values.filter((v) => !text.includes(v))).toEqual([]);
  });

  test.each([
    'docker-compose.entra.yml',
    '.env.example',
    ...FILES.filter((f) => f.startsWith('k8s/overlays/entra/')),
  ])('%s, for real Entra ID, carries no offline identity', (file) => {
    const text = read(file).toLowerCase();
    const offline = [...GUIDS, ...SECRETS]
      .filter((v) => v !== DEFAULTS.graphClientId)
      .filter((v) => text.includes(v.toLowerCase()));
    expect(offline).toEqual([]);
  });
});
