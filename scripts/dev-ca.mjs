#!/usr/bin/env node
// Creates (once) the development certificate authority of the fake Entra issuer under
// .certs/, so that tests and `npm start` can trust it through NODE_EXTRA_CA_CERTS.
// FAKE_ENTRA_CA_DIR overrides the directory.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function devCaPaths() {
  const dir = resolve(process.env.FAKE_ENTRA_CA_DIR ?? join(root, '.certs'));
  return { dir, certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'ca-key.pem') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ensureCertificateAuthority } = await import('../packages/fake-entra/src/tls.ts');
  const { dir } = devCaPaths();
  const ca = await ensureCertificateAuthority(dir);
  console.log(`fake-entra development CA: ${ca.certFile}`);
}
