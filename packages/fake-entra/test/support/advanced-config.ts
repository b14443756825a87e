// A configuration beyond the defaults for the tests of token versions, groups, Conditional
// Access and the extra grants: the default identities plus a v1.0 API, a middle-tier API that
// calls our API on behalf of its users, a public client for the device code flow, a daemon
// that authenticates with a certificate, users with many groups, and MFA policies.
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, DEFAULTS, type FakeEntraConfig } from '../../src/index.ts';
import { rsaKeyPair, selfSignedDer } from '../../src/tls.ts';

export const V1_API = {
  clientId: '5e1a9c3b-7d2f-4b8e-a6c1-0f9e8d7c6b5a',
  identifier: 'api://legacy-reports',
};
export const MIDDLE_TIER = {
  clientId: '7b3c1d2e-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
  identifier: 'api://7b3c1d2e-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
  secret: 'middle-tier-secret-for-tests',
};
export const MIDDLE_TIER_ROLES = [
  'Tasks.Read',
  'Tasks.Write',
  'Tasks.Admin',
  'Reports.Read',
  'Reports.Write',
];
export const DEVICE_CLIENT_ID = '2c4e6a8b-1d3f-4a5b-9c7d-8e0f1a2b3c4d';
export const CERT_DAEMON_ID = '8f6e4d2c-0b1a-4c9d-8e7f-6a5b4c3d2e1f';

export const MFA_FOR_V1_API = 'c0ffee00-1111-4222-8333-444455556666';
export const STEP_UP_C1 = 'c0ffee00-7777-4888-9999-aaaabbbbcccc';

export const CAROL = 'carol@contoso.test'; // 200 groups, 5 app roles on the middle tier, 5 directory roles
export const DAVE = 'dave@contoso.test'; // 201 groups: over the overage limit

/** Role template ids of Entra built-in roles (Microsoft's permissions reference). */
export const DIRECTORY_ROLES = [
  '62e90394-69f5-4237-9190-012177145e10', // Global Administrator
  'fe930be7-5e62-47db-91af-98c3a49a38b1', // User Administrator
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', // Application Administrator
  '158c047a-c907-4556-b7ef-446551a6b5f7', // Cloud Application Administrator
  '88d8e3e3-8f55-4a1e-953a-9b9898b8876b', // Directory Readers
];

export const groupIds = (n: number, seed: string) =>
  Array.from({ length: n }, (_, i) => {
    const h = createHash('sha256').update(`${seed}:${i}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  });

export interface TestCertificate {
  pem: string;
  privateKeyPem: string;
  /** SHA-256 thumbprint, hex (as MSAL's `clientCertificate.thumbprintSha256` takes it). */
  sha256Hex: string;
  /** SHA-1 thumbprint, hex (MSAL's legacy `thumbprint`). */
  sha1Hex: string;
}

export async function createTestCertificate(
  cn = 'fake-entra test client',
): Promise<TestCertificate> {
  const { privateKeyPem, publicKeyPem } = await rsaKeyPair();
  const der = selfSignedDer(privateKeyPem, publicKeyPem, cn);
  const pem = new X509Certificate(der).toString();
  return {
    pem,
    privateKeyPem,
    sha256Hex: createHash('sha256').update(der).digest('hex'),
    sha1Hex: createHash('sha1').update(der).digest('hex'),
  };
}

const API = DEFAULTS.apiIdentifier;

export function advancedConfig(o: { certificate: TestCertificate }): FakeEntraConfig {
  const base = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as Required<FakeEntraConfig>;
  const web = base.clients.find((c) => c.clientId === DEFAULTS.webClientId)!;
  web.permissions = [
    ...(web.permissions ?? []),
    `${V1_API.identifier}/reports.read`,
    `${MIDDLE_TIER.identifier}/access_as_user`,
  ];
  const user = (upn: string, name: string, extra: Record<string, unknown> = {}) => ({
    upn,
    oid: randomUUID(),
    name,
    givenName: name.split(' ')[0],
    surname: 'Example',
    consents: [
      'https://graph.microsoft.com/User.Read',
      `${API}/data.read`,
      `${V1_API.identifier}/reports.read`,
      `${MIDDLE_TIER.identifier}/access_as_user`,
    ],
    ...extra,
  });
  return {
    ...base,
    apis: [
      ...base.apis,
      {
        name: 'Legacy reports API',
        clientId: V1_API.clientId,
        identifier: V1_API.identifier,
        scopes: ['reports.read'],
        appRoles: ['Reports.Admin'],
        // accessTokenAcceptedVersion left at Entra's default (null): v1.0 tokens.
        groupMembershipClaims: 'All',
      },
      {
        name: 'Middle tier API',
        clientId: MIDDLE_TIER.clientId,
        identifier: MIDDLE_TIER.identifier,
        scopes: ['access_as_user'],
        appRoles: MIDDLE_TIER_ROLES,
        accessTokenAcceptedVersion: 2,
        groupMembershipClaims: 'All',
        optionalClaims: { accessToken: ['idtyp', 'xms_cc'] },
      },
    ],
    clients: [
      ...base.clients,
      {
        name: 'Middle tier API',
        clientId: MIDDLE_TIER.clientId,
        secret: MIDDLE_TIER.secret,
        certificates: [o.certificate.pem],
        // Downstream: our API, the v1.0 API (MFA for bob), and a Graph scope nobody consented to.
        permissions: [
          `${API}/data.read`,
          `${V1_API.identifier}/reports.read`,
          'https://graph.microsoft.com/User.Read',
          'https://graph.microsoft.com/User.ReadBasic.All',
        ],
      },
      {
        name: 'Device console',
        clientId: DEVICE_CLIENT_ID,
        permissions: [`${API}/data.read`, 'https://graph.microsoft.com/User.Read'],
      },
      {
        name: 'Certificate daemon',
        clientId: CERT_DAEMON_ID,
        certificates: [o.certificate.pem],
        appRoles: [`${API}/Data.Read.All`],
      },
    ],
    users: [
      ...base.users.map((u) => ({
        ...u,
        consents: [
          ...(u.consents ?? []),
          `${V1_API.identifier}/reports.read`,
          `${MIDDLE_TIER.identifier}/access_as_user`,
        ],
      })),
      user(CAROL, 'Carol Example', {
        appRoles: [
          `${V1_API.identifier}/Reports.Admin`,
          ...MIDDLE_TIER_ROLES.map((r) => `${MIDDLE_TIER.identifier}/${r}`),
        ],
        groups: groupIds(200, 'carol'),
        directoryRoles: DIRECTORY_ROLES,
      }),
      // dave never consented to the legacy API: asked for it, he gets the consent page.
      user(DAVE, 'Dave Example', {
        groups: groupIds(201, 'dave'),
        consents: ['https://graph.microsoft.com/User.Read', `${API}/data.read`],
      }),
    ],
    conditionalAccessPolicies: [
      {
        id: MFA_FOR_V1_API,
        name: 'Require MFA for the legacy reports API',
        users: ['bob@contoso.test'],
        apis: [V1_API.identifier],
        grantControls: ['mfa'],
      },
      {
        id: STEP_UP_C1,
        name: 'Step-up: MFA for authentication context c1',
        authenticationContexts: ['c1'],
        grantControls: ['mfa'],
      },
    ],
  };
}
