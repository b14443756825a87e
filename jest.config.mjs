// One jest run for the whole repository, split into projects so that a workspace can run
// its own part (`npm test -w services/api` -> `--selectProjects api`).
// Sources are ES modules written in TypeScript; @swc/jest strips the types and keeps ESM
// (jest runs with --experimental-vm-modules, see scripts/jest.mjs).
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2023', keepClassNames: true },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};

const project = (displayName, roots, extra = {}) => ({
  displayName,
  testEnvironment: 'node',
  // Workspace packages resolve to their TypeScript sources here (and in every process the
  // tests start: scripts/jest.mjs passes --conditions); installed elsewhere, to dist/.
  testEnvironmentOptions: { customExportConditions: ['@koa-entra/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  roots,
  testMatch: ['**/*.test.ts'],
  ...extra,
});

export default {
  projects: [
    project('service-kit', ['<rootDir>/packages/service-kit']),
    project('bearer', ['<rootDir>/packages/bearer']),
    project('fake-entra', ['<rootDir>/packages/fake-entra']),
    project('api', ['<rootDir>/services/api/test']),
    project('client', ['<rootDir>/services/client/test']),
    project('e2e', ['<rootDir>/tests/e2e']),
    // The packages packed and installed outside the repository (needs the npm registry).
    project('packaging', ['<rootDir>/tests/packaging']),
    project('containers', ['<rootDir>/tests/containers']),
    project('k8s', ['<rootDir>/tests/k8s']),
    // Checks across the repository's files (no tool needed): tests/*.test.ts only.
    project('repo', ['<rootDir>/tests'], { testMatch: ['<rootDir>/tests/*.test.ts'] }),
  ],
};
