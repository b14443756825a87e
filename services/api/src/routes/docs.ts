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
  const securityScheme =
    entra !== undefined
      ? {
          type: 'oauth2',
          description:
            'Microsoft Entra ID, authorization code flow with PKCE. App-only tokens (client credentials) carry the app roles Data.Read.All / Data.Write.All instead.',
          flows: {
            authorizationCode: {
              authorizationUrl: entra.authorizationEndpoint,
              tokenUrl: entra.tokenEndpoint,
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
              400: 'Malformed request (RFC 6750 invalid_request)',
              401: 'Missing or invalid token (WWW-Authenticate: Bearer ...)',
              403: 'The token lacks the permission (insufficient_scope)',
              413: 'Body too large',
              415: 'Body is not application/json',
              503: 'Signing keys unavailable; see Retry-After',
            } as Record<number, string>
          )[c],
          content: { 'application/json': { schema: error } },
        },
      ]),
    );
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
          required: ['id', 'owner', 'data', 'createdAt'],
          properties: {
            id: { type: 'integer' },
            owner: {
              type: 'object',
              properties: { tid: { type: 'string' }, oid: { type: 'string' } },
            },
            data: { type: 'object' },
            createdAt: { type: 'string', format: 'date-time' },
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
            required: true,
            content: { 'application/json': { schema: { type: 'object', maxProperties: 1000 } } },
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
            ...errors(400, 401, 403, 413, 415, 503),
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

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'oauth2-redirect.html': 'text/html; charset=utf-8',
  'oauth2-redirect.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>koa-entra API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
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
  window.ui.initOAuth({ usePkceWithAuthorizationCodeGrant: true, scopes: ${JSON.stringify([`api://${config.apiClientId}/data.read`, `api://${config.apiClientId}/data.write`].join(' '))} });
});
`;
  const issuerOrigin = new URL(config.oidcIssuer ?? config.authority).origin;
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
