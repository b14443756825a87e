// Runs the example web app. The defaults point at a fake-entra on https://localhost:5050 with its
// default configuration; set the variables to use real Entra ID (or another fake).
import { DEFAULTS } from '@koa-entra/fake-entra';
import { createWebApp } from './app.ts';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const port = Number(env('PORT', '3000'));
const authority = env('AUTHORITY', 'https://localhost:5050');

createWebApp({
  authority: `${authority}/${env('TENANT_ID', DEFAULTS.tenantId)}`,
  clientId: env('CLIENT_ID', DEFAULTS.webClientId),
  clientSecret: env('CLIENT_SECRET', DEFAULTS.webClientSecret),
  redirectUri: env('REDIRECT_URI', `http://localhost:${port}/auth/redirect`),
  graphBaseUrl: env('GRAPH_BASE_URL', authority),
}).listen(port, () => console.log(`open http://localhost:${port}`));
