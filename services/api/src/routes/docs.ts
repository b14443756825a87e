// OpenAPI 3.1 document and Swagger UI from the swagger-ui-dist package (no CDN, no inline
// script, so a strict Content-Security-Policy holds).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { entraEndpoints, oidcDiscoveryUrl } from '@koa-entra/bearer';
import type Router from '@koa/router';
import type { ApiConfig } from '../config.ts';

export function openApiDocument(config: ApiConfig): Record<string, unknown> {
  const id = config.apiClientId;
  const scope = (s: string) => `api://${id}/${s}`;
  const entra =
    config.oidcIssuer === undefined
      ? entraEndpoints({ authority: config.authority, tenantId: config.tenantId as string })
      : undefined;
  // The same endpoints as the browser reaches them (DOCS_AUTHORITY; http allowed on localhost).
  const inBrowser = (url: string) =>
    url.startsWith(config.authority)
      ? config.docsAuthority + url.slice(config.authority.length)
      : url;
  const securityScheme =
    entra !== undefined
      ? {
          type: 'oauth2',
          description:
            'Microsoft Entra ID, authorization code flow with PKCE, as a public single-page client: no client secret. App-only tokens (client credentials) carry the app roles Data.Read.All / Data.Write.All instead.',
          flows: {
            authorizationCode: {
              authorizationUrl: inBrowser(entra.authorizationEndpoint),
              tokenUrl: inBrowser(entra.tokenEndpoint),
              scopes: {
                [scope('data.read')]: 'Read your data',
                [scope('data.write')]: 'Write your data',
              },
            },
          },
        }
      : {
          type: 'openIdConnect',
          openIdConnectUrl: oidcDiscoveryUrl(config.oidcIssuer as string),
        };
  const error = { $ref: '#/components/schemas/Error' };
  const errors = (...codes: number[]) =>
    Object.fromEntries(
      codes.map((c) => [
        String(c),
        {
          description: (
            {
              400: 'Malformed request (RFC 6750 invalid_request, or a bad body, limit or cursor)',
              401: 'Missing or invalid token (WWW-Authenticate: Bearer ...)',
              403: 'The token lacks the permission (insufficient_scope)',
              404: 'No such item, or it belongs to someone else (not_found)',
              409: 'The owner’s item or byte quota is full (quota_exceeded)',
              412: 'If-Match names an older version (precondition_failed)',
              413: 'Body too large',
              415: 'Body is not application/json (or an unknown Content-Encoding)',
              422: 'Idempotency-Key already used with another body (idempotency_key_mismatch)',
              428: 'If-Match is required (precondition_required)',
              429: 'Too many writes (rate_limited); see Retry-After',
              503: 'Signing keys or the store unavailable; see Retry-After',
            } as Record<number, string>
          )[c],
          content: {
            'application/json': { schema: error, example: ERROR_EXAMPLES[c] },
          },
          ...(c === 429 || c === 503 ? { headers: { 'Retry-After': retryAfter } } : {}),
        },
      ]),
    );
  const itemResponse = (description: string) => ({
    description,
    headers: { ETag: etagHeader },
    content: {
      'application/json': { schema: { $ref: '#/components/schemas/Item' }, example: ITEM_EXAMPLE },
    },
  });
  const idParameter = {
    name: 'id',
    in: 'path',
    required: true,
    schema: { type: 'integer', minimum: 1 },
    example: 42,
  };
  const ifMatch = {
    name: 'If-Match',
    in: 'header',
    required: true,
    description:
      'The ETag of the version you change (strong comparison), a list of them, or * for any version. Missing: 428; stale: 412.',
    schema: { type: 'string' },
    example: '"3"',
  };
  const dataBody = (types: string[], example: unknown) => ({
    required: true,
    content: Object.fromEntries(
      types.map((t) => [t, { schema: { type: 'object', maxProperties: 1000 }, example }]),
    ),
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'koa-entra API',
      version: '0.1.0',
      description: 'Resource server protected by Microsoft Entra ID access tokens.',
    },
    components: {
      securitySchemes: { entra: securityScheme },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'error_description'],
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
        },
        Item: {
          type: 'object',
          required: ['id', 'owner', 'data', 'createdAt', 'updatedAt', 'etag'],
          properties: {
            id: {
              type: 'integer',
              minimum: 1,
              description: 'Unique, increasing in creation order',
            },
            owner: {
              type: 'object',
              description: 'Who created it: the token’s tenant id and object id',
              properties: { tid: { type: 'string' }, oid: { type: 'string' } },
            },
            data: { type: 'object', description: 'The JSON object the owner stored' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
            etag: {
              type: 'string',
              description: 'The version as an entity tag (as in the ETag header), for If-Match',
            },
          },
          example: ITEM_EXAMPLE,
        },
        ItemPage: {
          type: 'object',
          required: ['items', 'nextCursor'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
            nextCursor: {
              type: ['string', 'null'],
              description: 'Pass as ?cursor= for the next page; null on the last page',
            },
          },
        },
      },
    },
    paths: {
      '/data/read': {
        get: {
          summary: "Read the caller's items (an app with Data.Read.All reads all of its tenant)",
          security: [{ entra: [scope('data.read')] }],
          responses: {
            '200': {
              description: 'Items, newest first (at most 100)',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      data: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
                      'current-user-scopes': { type: 'array', items: { type: 'string' } },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      '/data/write': {
        post: {
          summary: 'Store a JSON object owned by the caller',
          security: [{ entra: [scope('data.write')] }],
          requestBody: {
            required: false,
            description:
              'A JSON object; no body at all stores {} (the tutorial web app sends none)',
            content: {
              'application/json': {
                schema: { type: 'object', maxProperties: 1000 },
                example: { text: 'Buy milk' },
              },
            },
          },
          responses: {
            '201': {
              description: 'Stored',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      result: { const: 'You wrote protected data!' },
                      item: { $ref: '#/components/schemas/Item' },
                      'current-user-scopes': { type: 'array', items: { type: 'string' } },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 403, 409, 413, 415, 429, 503),
          },
        },
      },
      '/data/items': {
        get: {
          summary: "List the caller's items, newest first, a page at a time",
          description:
            'A user lists their own items; an app-only token with Data.Read.All lists every item of its tenant.',
          security: [{ entra: [scope('data.read')] }],
          parameters: [
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            },
            {
              name: 'cursor',
              in: 'query',
              description: 'The nextCursor of the previous page (opaque)',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': {
              description: 'One page',
              content: {
                'application/json': {
                  schema: { $ref: '#/components/schemas/ItemPage' },
                  example: { items: [ITEM_EXAMPLE], nextCursor: 'djE6NDI' },
                },
              },
            },
            ...errors(400, 401, 403, 503),
          },
        },
        post: {
          summary: 'Create an item owned by the caller',
          security: [{ entra: [scope('data.write')] }],
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              description:
                'A retried POST with the same key and body writes once and answers the same item (Idempotent-Replayed: true); the same key with another body answers 422. Remembered 24 h, per owner.',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
              example: '5b0f7f0e-2f3c-4c55-9d7e-0c1a8f4e6b21',
            },
          ],
          requestBody: dataBody(['application/json'], ITEM_EXAMPLE.data),
          responses: {
            '201': {
              ...itemResponse('Created (or replayed for the same Idempotency-Key)'),
              headers: {
                ETag: etagHeader,
                Location: {
                  description: 'The new item',
                  schema: { type: 'string' },
                  example: '/data/items/42',
                },
              },
            },
            ...errors(400, 401, 403, 409, 413, 415, 422, 429, 503),
          },
        },
      },
      '/data/items/{id}': {
        parameters: [idParameter],
        get: {
          summary: 'Read one of the caller’s items',
          security: [{ entra: [scope('data.read')] }],
          parameters: [
            {
              name: 'If-None-Match',
              in: 'header',
              schema: { type: 'string' },
              example: '"3"',
            },
          ],
          responses: {
            '200': itemResponse('The item'),
            '304': { description: 'Not modified (If-None-Match matched)' },
            ...errors(401, 403, 404, 503),
          },
        },
        put: {
          summary: 'Replace the item’s data',
          security: [{ entra: [scope('data.write')] }],
          parameters: [ifMatch],
          requestBody: dataBody(['application/json'], { text: 'Buy oat milk' }),
          responses: {
            '200': itemResponse('Replaced; the new ETag'),
            ...errors(400, 401, 403, 404, 409, 412, 413, 415, 428, 429, 503),
          },
        },
        patch: {
          summary: 'Change the item’s data with a JSON Merge Patch (RFC 7396)',
          description: 'Members set to null are removed; objects merge; anything else replaces.',
          security: [{ entra: [scope('data.write')] }],
          parameters: [ifMatch],
          requestBody: dataBody(['application/merge-patch+json', 'application/json'], {
            done: true,
            due: null,
          }),
          responses: {
            '200': itemResponse('Changed; the new ETag'),
            ...errors(400, 401, 403, 404, 409, 412, 413, 415, 428, 429, 503),
          },
        },
        delete: {
          summary: 'Delete the item',
          security: [{ entra: [scope('data.write')] }],
          parameters: [ifMatch],
          responses: {
            '204': { description: 'Deleted' },
            ...errors(400, 401, 403, 404, 412, 428, 429, 503),
          },
        },
      },
      '/healthz': {
        get: { summary: 'Liveness', security: [], responses: { '200': { description: 'Alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'Readiness (signing keys and store)',
          security: [],
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
    },
  };
}

const ITEM_EXAMPLE = {
  id: 42,
  owner: {
    tid: '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e',
    oid: 'a11ce000-5e7d-4c3b-9a2f-0e1d2c3b4a59',
  },
  data: { text: 'Buy milk' },
  createdAt: '2026-12-01T09:30:00.000Z',
  updatedAt: '2026-12-01T09:41:12.000Z',
  etag: '"3"',
};

const etagHeader = {
  description: 'The item’s version, for If-Match',
  schema: { type: 'string' },
  example: '"3"',
};
const retryAfter = {
  description: 'Seconds to wait before retrying',
  schema: { type: 'integer' },
  example: 20,
};

const ERROR_EXAMPLES: Record<number, { error: string; error_description: string }> = {
  400: {
    error: 'invalid_request',
    error_description: 'limit must be a whole number from 1 to 100',
  },
  401: { error: 'invalid_token', error_description: 'The token expired' },
  403: {
    error: 'insufficient_scope',
    error_description: 'The token lacks the permission this request needs',
  },
  404: { error: 'not_found', error_description: 'No such item (or it belongs to someone else)' },
  409: {
    error: 'quota_exceeded',
    error_description: 'The item quota is full: at most 1000 items per user; delete some first',
  },
  412: {
    error: 'precondition_failed',
    error_description:
      'The item changed since the version If-Match names; GET it again and retry with its ETag',
  },
  413: {
    error: 'request_too_large',
    error_description: 'The request body is larger than 16384 bytes',
  },
  415: {
    error: 'unsupported_media_type',
    error_description: 'The request body must be a JSON object sent as application/json',
  },
  422: {
    error: 'idempotency_key_mismatch',
    error_description:
      'This Idempotency-Key was already used with a different request body; use a new key for a new item',
  },
  428: {
    error: 'precondition_required',
    error_description:
      'Send If-Match with the ETag of the version you change (or * to change any version)',
  },
  429: {
    error: 'rate_limited',
    error_description: 'Too many writes: at most 60 per 60 s per user; retry after 20 s',
  },
  503: {
    error: 'temporarily_unavailable',
    error_description: 'The data store cannot be reached; try again later',
  },
};

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'oauth2-redirect.html': 'text/html; charset=utf-8',
  'oauth2-redirect.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

// A public client has no secret: Swagger UI's dialog asks for one anyway (and sends none when
// it is empty), so the field is hidden rather than left to puzzle people.
const DOCS_CSS = `.auth-container .wrapper:has(> label[for^="client_secret_"]) { display: none; }
`;

const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>koa-entra API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/docs/docs.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
`;

export function docsRoutes(router: Router, config: ApiConfig): Router {
  const document = JSON.stringify(openApiDocument(config));
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // Loaded once: a fixed list of files, so no path from the request ever reaches the file system.
  const assets = new Map(
    Object.entries(ASSETS).map(([name, type]) => [
      name,
      { type, body: readFileSync(join(dir, name)) },
    ]),
  );
  const initializer = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
    oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect.html'
  });
  window.ui.initOAuth(${JSON.stringify({
    ...(config.docsClientId ? { clientId: config.docsClientId } : {}),
    usePkceWithAuthorizationCodeGrant: true,
    scopes: [
      `api://${config.apiClientId}/data.read`,
      `api://${config.apiClientId}/data.write`,
    ].join(' '),
  })});
});
`;
  // The browser redeems the code itself: the token endpoint at the browser-facing authority.
  const issuerOrigin = new URL(config.oidcIssuer ?? config.docsAuthority).origin;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    // Swagger UI sets style attributes on its elements.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ${issuerOrigin}`,
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.set('content-security-policy', csp);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = INDEX;
  });
  router.get('/docs/docs.css', (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = DOCS_CSS;
  });
  router.get('/docs/swagger-initializer.js', (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = initializer;
  });
  router.get('/docs/:asset', (ctx) => {
    const asset = assets.get(ctx.params.asset ?? '');
    if (!asset) return;
    if (asset.type.startsWith('text/html')) ctx.set('content-security-policy', csp);
    ctx.set('cache-control', 'public, max-age=86400');
    ctx.type = asset.type;
    ctx.body = asset.body;
  });
  return router;
}
