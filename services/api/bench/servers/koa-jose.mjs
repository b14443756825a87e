// The naive Koa + jose resource server many tutorials show: the remote JWKS (cached by jose)
// and a full jwtVerify on every request, then a scope check. No logging, no metrics.
import Router from '@koa/router';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import Koa from 'koa';

const { AUTHORITY, TENANT_ID, API_CLIENT_ID } = process.env;
const issuer = `${AUTHORITY}/${TENANT_ID}/v2.0`;
const jwks = createRemoteJWKSet(new URL(`${AUTHORITY}/${TENANT_ID}/discovery/v2.0/keys`));
const body = JSON.parse(process.env.BENCH_BODY ?? '{}');
const app = new Koa();
const router = new Router();
router.get('/data/read', async (ctx) => {
  const match = /^Bearer (.+)$/.exec(ctx.get('authorization'));
  if (!match) ctx.throw(401);
  let payload;
  try {
    ({ payload } = await jwtVerify(match[1], jwks, { issuer, audience: API_CLIENT_ID }));
  } catch {
    ctx.throw(401);
  }
  if (
    !String(payload.scp ?? '')
      .split(' ')
      .includes('data.read')
  )
    ctx.throw(403);
  ctx.body = body;
});
app.use(router.routes());
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
