// The OpenAPI document describes what the API really does: every item operation with its
// permission, headers and error statuses, an Item schema matching real items, examples, and
// sign-in endpoints at the browser-facing authority.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  ALICE,
  API_ID,
  DEFAULTS,
  FakeEntra,
  call,
  startTestApi,
  type TestApi,
} from './support/api.ts';

let fake: FakeEntra;
let api: TestApi;
let doc: {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { required?: string[]; example?: Record<string, unknown> }>;
    securitySchemes: Record<string, unknown>;
  };
};
interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content?: Record<string, { example?: unknown }> }
  >;
}

beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await startTestApi(fake, { DOCS_AUTHORITY: 'https://login.example.test:8443/' });
  doc = (await call(`${api.url}/openapi.json`)).body as unknown as typeof doc;
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

const scope = (s: string) => `api://${API_ID}/${s}`;

test.each([
  ['/data/items', 'get', 'data.read', ['200', '400', '401', '403']],
  [
    '/data/items',
    'post',
    'data.write',
    ['201', '400', '401', '403', '409', '413', '415', '422', '429'],
  ],
  ['/data/items/{id}', 'get', 'data.read', ['200', '304', '401', '403', '404']],
  ['/data/items/{id}', 'put', 'data.write', ['200', '404', '409', '412', '413', '428', '429']],
  [
    '/data/items/{id}',
    'patch',
    'data.write',
    ['200', '404', '409', '412', '413', '415', '428', '429'],
  ],
  ['/data/items/{id}', 'delete', 'data.write', ['204', '404', '412', '428', '429']],
])('%s %s: needs %s and documents %j', (path, method, permission, statuses) => {
  const operation = doc.paths[path]?.[method] as Operation;
  expect(operation.security).toEqual([{ entra: [scope(permission)] }]);
  expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(statuses));
  for (const [status, response] of Object.entries(operation.responses)) {
    const content = response.content?.['application/json'];
    if (Number(status) >= 400)
      expect(content?.example).toMatchObject({ error: expect.any(String) });
  }
  if (['put', 'patch', 'delete'].includes(method))
    expect(operation.parameters).toContainEqual(
      expect.objectContaining({ name: 'If-Match', in: 'header', required: true }),
    );
  if (method === 'post') {
    expect(operation.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
    );
    expect(Object.keys(operation.responses['201']?.headers ?? {})).toEqual(['ETag', 'Location']);
  }
  expect(Object.keys(operation.responses['429']?.headers ?? { 'Retry-After': 1 })).toEqual([
    'Retry-After',
  ]);
});

test('the Item schema and its example have exactly the fields of a real item', async () => {
  const token = await fake.mintAccessToken({ user: ALICE, scopes: ['data.read', 'data.write'] });
  const created = await call(`${api.url}/data/items`, {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'Buy milk' }),
  });
  expect(created.status).toBe(201);
  const schema = doc.components.schemas.Item;
  expect([...(schema?.required ?? [])].sort()).toEqual(Object.keys(created.body).sort());
  expect(Object.keys(schema?.example ?? {}).sort()).toEqual(Object.keys(created.body).sort());
});

test('sign-in in the docs goes to DOCS_AUTHORITY, the authority as browsers reach it', () => {
  expect(doc.components.securitySchemes.entra).toMatchObject({
    type: 'oauth2',
    flows: {
      authorizationCode: {
        authorizationUrl: `https://login.example.test:8443/${DEFAULTS.tenantId}/oauth2/v2.0/authorize`,
        tokenUrl: `https://login.example.test:8443/${DEFAULTS.tenantId}/oauth2/v2.0/token`,
        scopes: {
          [scope('data.read')]: expect.any(String),
          [scope('data.write')]: expect.any(String),
        },
      },
    },
  });
});
