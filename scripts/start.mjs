#!/usr/bin/env node
// `npm start`: the fake Entra issuer, the API and the web app on this host, no Docker, in a
// default configuration in which they know each other. Open http://localhost:5001.
// Each service runs from its TypeScript sources (Node 24 strips the types) and trusts the
// development CA of the fake issuer through NODE_EXTRA_CA_CERTS, as a container would.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devCaPaths } from './dev-ca.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'scripts/dev-ca.mjs')], { stdio: 'inherit' });
const { certFile } = devCaPaths();

// The fake issuer's default identities (its config/default.json), as every service here uses them.
const { DEFAULTS } = await import('../packages/fake-entra/src/defaults.ts');
const issuerPort = 5050;
const dataDir = join(root, '.data/api');
mkdirSync(dataDir, { recursive: true });

const shared = {
  ...process.env,
  NODE_EXTRA_CA_CERTS: certFile,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
};
const services = [
  {
    name: 'fake-entra',
    args: [
      '--conditions=@koa-entra/source',
      join(root, 'packages/fake-entra/src/cli.ts'),
      '--port',
      String(issuerPort),
      '--config',
      join(root, 'packages/fake-entra/config/default.json'),
      '--ca-dir',
      dirname(certFile),
    ],
    env: shared,
  },
  {
    name: 'api',
    args: ['--conditions=@koa-entra/source', join(root, 'services/api/src/main.ts')],
    env: {
      PORT: '8000',
      TENANT_ID: DEFAULTS.tenantId,
      API_CLIENT_ID: DEFAULTS.apiClientId,
      AUTHORITY: `https://localhost:${issuerPort}`,
      // /docs signs in from the browser, which gets the fake's pages over plain http.
      DOCS_AUTHORITY: `http://localhost:${issuerPort}`,
      DOCS_CLIENT_ID: DEFAULTS.docsClientId,
      DATA_DIR: dataDir,
      ...shared,
    },
  },
  {
    name: 'client',
    args: ['--conditions=@koa-entra/source', join(root, 'services/client/src/main.ts')],
    env: {
      PORT: '5001',
      TENANT_ID: DEFAULTS.tenantId,
      CLIENT_ID: DEFAULTS.webClientId,
      CLIENT_SECRET: DEFAULTS.webClientSecret,
      REDIRECT_URI: DEFAULTS.webRedirectUri,
      AUTHORITY: `https://localhost:${issuerPort}`,
      GRAPH_BASE_URL: `https://localhost:${issuerPort}`,
      API_BASE_URL: 'http://localhost:8000',
      API_SCOPES: DEFAULTS.apiScopes.join(' '),
      SESSION_KEYS: 'dev-session-key-not-for-production',
      ...shared,
    },
  },
];

const children = [];
let stopping = false;
for (const [index, service] of services.entries()) {
  // The services fetch the issuer's keys at start: start them once the issuer answers.
  if (index === 1) await waitFor(`http://localhost:${issuerPort}/healthz`);
  const child = spawn(process.execPath, service.args, {
    env: service.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) console.log(`${service.name.padEnd(10)} | ${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${service.name.padEnd(10)} | exited (${signal ?? code})`);
    if (!stopping) stop(code || 1);
  });
  children.push(child);
}
console.log(
  `open http://localhost:5001 (sign in as ${DEFAULTS.users.alice.upn} or ${DEFAULTS.users.bob.upn}); Ctrl+C stops`,
);

async function waitFor(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping) {
    console.error(`${url} did not answer within ${timeoutMs / 1000} s`);
    stop(1);
  }
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 11_000).unref();
  Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null)),
  ).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
