// A Koa API whose GET /hello needs an Entra ID access token granting the scope SCOPE.
// Env: AUTHORITY (default https://login.microsoftonline.com), TENANT_ID, AUDIENCE (accepted
// `aud` values, comma-separated), SCOPE (default data.read), PORT (default 8000; 0 = any).
import Koa from 'koa';
import { entraBearer, requireScopes } from '@koa-entra/bearer';

const { AUTHORITY, TENANT_ID, AUDIENCE = '', SCOPE = 'data.read', PORT = '8000' } = process.env;
const audience = AUDIENCE.split(',').filter(Boolean);
const bearer = entraBearer({ authority: AUTHORITY, tenantId: TENANT_ID, audience });
const needsScope = requireScopes(SCOPE);

const app = new Koa();
app.use(async (ctx, next) => {
  if (ctx.path !== '/hello') return next();
  // Refusals are thrown: Koa's default error handler answers 401/403/400 with WWW-Authenticate.
  await bearer(ctx, () =>
    needsScope(ctx, async () => {
      const { objectId, scopes } = ctx.state.principal;
      ctx.body = { hello: objectId, scopes };
    }),
  );
});
const server = app.listen(Number(PORT), () =>
  console.log(`listening on http://localhost:${server.address().port}/hello`),
);
