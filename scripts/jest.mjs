#!/usr/bin/env node
// Runs jest with ESM support and with the development CA of the fake issuer trusted, so
// that every process a test starts (and the test process itself) accepts its certificates
// the way a real deployment would: through NODE_EXTRA_CA_CERTS, read at process start.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { devCaPaths } from './dev-ca.mjs';

const require = createRequire(import.meta.url);
const { certFile } = devCaPaths();
if (!existsSync(certFile)) {
  console.error(`jest: ${certFile} is missing; run "node scripts/dev-ca.mjs" first (npm test does).`);
  process.exit(1);
}
const env = {
  ...process.env,
  NODE_EXTRA_CA_CERTS: certFile,
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--no-warnings=ExperimentalWarning']
    .filter(Boolean)
    .join(' '),
};
// jest's package.json does not export its bin; resolve it from the package root.
const jest = join(dirname(require.resolve('jest/package.json')), 'bin/jest.js');
const result = spawnSync(process.execPath, [jest, ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
