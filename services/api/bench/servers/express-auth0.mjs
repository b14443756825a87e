// Express 5 with Auth0's express-oauth2-jwt-bearer, as its README shows it: discovery and JWKS
// of the issuer, audience, then the scope check. Entra puts delegated scopes in `scp`, not
// `scope` (which requiredScopes reads), hence claimIncludes. No logging, no metrics.
import express from 'express';
import { auth, claimIncludes } from 'express-oauth2-jwt-bearer';

const { AUTHORITY, TENANT_ID, API_CLIENT_ID } = process.env;
const body = JSON.parse(process.env.BENCH_BODY ?? '{}');
const app = express();
app.use(auth({ issuerBaseURL: `${AUTHORITY}/${TENANT_ID}/v2.0`, audience: API_CLIENT_ID }));
app.get('/data/read', claimIncludes('scp', 'data.read'), (_req, res) => {
  res.json(body);
});
// Refusals (such as the bench's untokened start probe) answered without Express's default
// handler, which prints each one's stack.
app.use((err, _req, res, _next) => {
  res
    .status(err.status ?? 500)
    .set(err.headers ?? {})
    .end();
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
