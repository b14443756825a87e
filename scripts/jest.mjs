#!/usr/bin/env node
// Runs jest with ESM support and with the development CA of the fake issuer trusted, so
// that every process a test starts (and the test process itself) accepts its certificates
// the way a real deployment would: through NODE_EXTRA_CA_CERTS, read at process start.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { devCaPaths } from './dev-ca.mjs';

const require = createRequire(import.meta.url);
// Workspace packages export their TypeScript sources under this condition (built dist/ otherwise).
const SOURCE_CONDITION = '--conditions=@koa-entra/source';
const { certFile } = devCaPaths();
if (!existsSync(certFile)) {
  console.error(
    `jest: ${certFile} is missing; run "node scripts/dev-ca.mjs" first (npm test does).`,
  );
  process.exit(1);
}
const env = {
  ...process.env,
  NODE_EXTRA_CA_CERTS: certFile,
  NODE_OPTIONS: [
    process.env.NODE_OPTIONS,
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    SOURCE_CONDITION,
  ]
    .filter(Boolean)
    .join(' '),
};
// jest's package.json does not export its bin; resolve it from the package root.
const jest = join(dirname(require.resolve('jest/package.json')), 'bin/jest.js');
// A plain closing line ("jest: N passed, N failed, N skipped") for readers of the CI log.
const summaryFile = join(mkdtempSync(join(tmpdir(), 'jest-summary-')), 'results.json');
const result = spawnSync(
  process.execPath,
  [jest, '--json', `--outputFile=${summaryFile}`, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env,
  },
);
try {
  const r = JSON.parse(readFileSync(summaryFile, 'utf8'));
  console.log(
    `jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
  );
} catch {
  // jest did not get as far as writing results; its own output says why
} finally {
  rmSync(dirname(summaryFile), { recursive: true, force: true });
}
process.exit(result.status ?? 1);
