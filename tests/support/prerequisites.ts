// Suites that need something outside Node (a browser, Docker, Redis, PostgreSQL) declare it
// here. On a developer machine without it they are skipped with a message that says how to
// enable them; under CI (CI=true, as .ci/run runs) a missing prerequisite fails the run,
// so that a green CI never hides a suite that silently did not run.
import { describe } from '@jest/globals';
import { accessSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface Prerequisite {
  /** What the suite needs, e.g. "Debian's chromium". */
  name: string;
  /** Returns undefined when available, else the reason it is not. */
  check: () => string | undefined;
  /** How a developer makes it available. */
  howTo: string;
}

const required = process.env.CI === 'true' || process.env.REQUIRE_ALL_SUITES === '1';

/** `describe` when every prerequisite is met, `describe.skip` (with a message) otherwise. */
export function describeWith(prerequisites: Prerequisite[], title: string, body: () => void): void {
  const missing = prerequisites
    .map((p) => ({ p, reason: p.check() }))
    .filter((m): m is { p: Prerequisite; reason: string } => m.reason !== undefined);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const message = missing.map(({ p, reason }) => `${p.name}: ${reason}. ${p.howTo}`).join('\n');
  if (required) {
    describe(title, () => {
      throw new Error(`required suite cannot run (CI=true):\n${message}`);
    });
    return;
  }
  console.warn(`skipping "${title}":\n${message}`);
  describe.skip(title, body);
}

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromium: Prerequisite = {
  name: "Debian's chromium",
  check: () => {
    try {
      accessSync(chromiumPath, constants.X_OK);
      return undefined;
    } catch {
      return `${chromiumPath} not found`;
    }
  },
  howTo: 'Install it with `apt-get install chromium` or set CHROMIUM_PATH.',
};

export const docker: Prerequisite = {
  name: 'a Docker engine',
  check: () => {
    try {
      execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
      return undefined;
    } catch {
      return '`docker info` failed';
    }
  },
  howTo: 'Run ../shared/tools/docker-up.sh (as .ci/run does).',
};

export const redisUrl = process.env.TEST_REDIS_URL;
export const redis: Prerequisite = {
  name: 'Redis',
  check: () => (redisUrl ? undefined : 'TEST_REDIS_URL is not set'),
  howTo: 'Start redis-server and set TEST_REDIS_URL=redis://127.0.0.1:6379 (as .ci/run does).',
};

export const databaseUrl = process.env.TEST_DATABASE_URL;
export const postgres: Prerequisite = {
  name: 'PostgreSQL',
  check: () => (databaseUrl ? undefined : 'TEST_DATABASE_URL is not set'),
  howTo:
    'Start PostgreSQL and set TEST_DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db (as .ci/run does).',
};
