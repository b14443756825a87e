// The identities of the default configuration (config/default.json), for tests and services
// that run against the fake issuer with no configuration of their own. A test keeps the two in step.
export const DEFAULTS = {
  tenantId: '3f1d2c4b-8a6e-4f7d-9b0c-1e2a3b4c5d6e',
  apiClientId: 'c750c37c-6c67-4211-a9e2-6f035a897cfa',
  apiIdentifier: 'api://c750c37c-6c67-4211-a9e2-6f035a897cfa',
  webClientId: '0d7f3a52-9c1b-4e8a-b6f4-2c5e8a1d9b37',
  webClientSecret: 'dev-web-secret-not-for-production',
  webRedirectUri: 'http://localhost:5001/auth/redirect',
  webPostLogoutRedirectUri: 'http://localhost:5001/',
  daemonClientId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  daemonClientSecret: 'dev-daemon-secret-not-for-production',
  graphClientId: '00000003-0000-0000-c000-000000000000',
  graphIdentifier: 'https://graph.microsoft.com',
  users: {
    alice: {
      upn: 'alice@contoso.test',
      oid: 'a11ce000-5e7d-4c3b-9a2f-0e1d2c3b4a59',
      name: 'Alice Example',
    },
    bob: {
      upn: 'bob@contoso.test',
      oid: 'b0b00000-6f8e-4d4c-8b3a-1f2e3d4c5b6a',
      name: 'Bob Example',
    },
  },
} as const;
