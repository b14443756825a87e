#!/usr/bin/env node
// Refreshes the README's screenshots (docs/screenshots/*.png: the signed-in home, the items
// list and the fake issuer's sign-in page, at desktop and phone sizes). The browser suite takes
// them while it checks the pages' accessibility, so they show what was tested.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = spawnSync(
  process.execPath,
  [join(repo, 'scripts/jest.mjs'), 'tests/e2e/accessibility.e2e.test.ts'],
  { cwd: repo, stdio: 'inherit', env: { ...process.env, SCREENSHOTS: '1' } },
);
process.exit(run.status ?? 1);
