// The fake issuer's configuration: tenants, APIs (resources with scopes and app roles), client
// apps and users with their consents. Validated once at start; a bad file stops the server with
// a message naming the field (e.g. `users[1].oid: Invalid GUID`).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const DEFAULT_CONFIG_FILE = fileURLToPath(
  new URL('../config/default.json', import.meta.url),
);

const guid = z.guid();

/** Optional access-token claims the fake can add (Entra's optional claims reference). */
export const ACCESS_TOKEN_OPTIONAL_CLAIMS = [
  'aud',
  'idtyp',
  'xms_cc',
  'upn',
  'family_name',
  'given_name',
  'ipaddr',
  'email',
  'preferred_username',
] as const;

/** `additionalProperties` the fake knows, by claim (Entra's optional claims reference). */
const ADDITIONAL_PROPERTIES: Record<string, readonly string[]> = {
  aud: ['use_guid'],
  idtyp: ['include_user_token'],
};

/** One entry of `optionalClaims.accessToken`: a claim name, or `{ name, additionalProperties }`. */
const OptionalClaim = z
  .union([
    z.enum(ACCESS_TOKEN_OPTIONAL_CLAIMS),
    z.strictObject({
      name: z.enum(ACCESS_TOKEN_OPTIONAL_CLAIMS),
      additionalProperties: z.array(z.string()).default([]),
    }),
  ])
  .transform((c) => (typeof c === 'string' ? { name: c, additionalProperties: [] } : c))
  .superRefine((c, ctx) => {
    for (const property of c.additionalProperties) {
      if (!(ADDITIONAL_PROPERTIES[c.name] ?? []).includes(property))
        ctx.addIssue({
          code: 'custom',
          message: `"${property}" is not an additional property of ${c.name} (known: ${(ADDITIONAL_PROPERTIES[c.name] ?? []).join(', ') || 'none'})`,
        });
    }
  });

/** An X.509 certificate in PEM (`-----BEGIN CERTIFICATE-----`), as uploaded to an app registration. */
const certificatePem = z.string().superRefine((pem, ctx) => {
  try {
    new X509Certificate(pem);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `not a PEM X.509 certificate (${(error as Error).message})`,
    });
  }
});
const httpUrl = z.url({ protocol: /^https?$/ });

/** A tenant-wide (admin) consent: every user of the tenant has granted `permissions` to `client`. */
const AdminConsentSchema = z.strictObject({
  client: guid,
  permissions: z.array(z.string()).min(1),
});

const TenantSchema = z.strictObject({
  id: guid,
  domains: z.array(z.string().min(1)).default([]),
  /** Shown on the sign-in and consent pages (Entra shows the organization's name). */
  name: z.string().min(1).optional(),
  /** Entra's user consent setting: false = "Do not allow user consent" (admins only). */
  usersCanConsent: z.boolean().default(true),
  /** Tenant-wide admin consent per client app (Entra's "Grant admin consent for {tenant}"). */
  adminConsents: z.array(AdminConsentSchema).default([]),
  /** `tenant_region_scope` of the tenant's discovery document (e.g. NA, EU, WW). */
  regionScope: z
    .string()
    .regex(/^[A-Z]{2}$/, 'two capital letters, e.g. NA, EU, WW')
    .default('NA'),
});

const ApiSchema = z.strictObject({
  name: z.string().min(1),
  clientId: guid,
  identifier: z
    .string()
    .min(1)
    .refine((v) => !v.endsWith('/'), 'must not end with "/"'),
  scopes: z
    .array(
      z.string().regex(/^[A-Za-z0-9._-]+$/, 'scope names are letters, digits, ".", "_" or "-"'),
    )
    .default([]),
  appRoles: z
    .array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'role names are letters, digits, ".", "_" or "-"'))
    .default([]),
  /** Scopes only an admin may consent to (Entra's "Who can consent: Admins only"). */
  adminOnlyScopes: z.array(z.string()).default([]),
  // Token shape (fake-advanced): what the resource's app registration (manifest) asks for.
  /** Manifest `accessTokenAcceptedVersion`: null (Entra's default) and 1 mean v1.0 tokens, 2 v2.0. */
  accessTokenAcceptedVersion: z
    .union([z.literal(1), z.literal(2), z.null()], 'must be null, 1 or 2')
    .default(null),
  /** Manifest `optionalClaims.accessToken`: claim names added to this API's access tokens. */
  optionalClaims: z
    .strictObject({
      accessToken: z.array(OptionalClaim).default([]),
    })
    .default({ accessToken: [] }),
  /** Manifest `groupMembershipClaims`: which of the user's groups (`groups`) and directory roles (`wids`) tokens carry. */
  groupMembershipClaims: z.enum(['None', 'SecurityGroup', 'DirectoryRole', 'All']).default('None'),
});

/** Entra's `signInAudience` values; personal Microsoft accounts are not modelled. */
export const SIGN_IN_AUDIENCES = [
  'AzureADMyOrg',
  'AzureADMultipleOrgs',
  'AzureADandPersonalMicrosoftAccount',
] as const;

/** A front-channel logout URL: https, or http on localhost (as the redirect URIs). */
const frontChannelUrl = httpUrl.refine((v) => {
  const u = new URL(v);
  return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}, 'must be https (http only on localhost)');

const ClientSchema = z.strictObject({
  name: z.string().min(1),
  clientId: guid,
  /** Service principal object id (the `oid`/`sub` of app-only tokens); derived from clientId if absent. */
  objectId: guid.optional(),
  secret: z.string().min(8).optional(),
  tenant: guid.optional(),
  /** Where Entra may send the browser: after sign-in, and after sign-out (post_logout_redirect_uri). */
  redirectUris: z.array(httpUrl).default([]),
  /**
   * Redirect URIs of the "Single-page application" platform (the manifest's `spa.redirectUris`):
   * codes sent there need PKCE and are redeemed only cross-origin (CORS on /token).
   */
  spaRedirectUris: z.array(httpUrl).default([]),
  /** Removed: Entra has no separate post-logout list (kept here only to name it in the error). */
  postLogoutRedirectUris: z
    .unknown()
    .optional()
    .refine(
      (v: unknown): boolean => v === undefined,
      "was removed: Entra sends the browser after sign-out only to one of the app's redirectUris (there is no separate list); move these URIs into redirectUris",
    ),
  /** Who may sign in (Entra's manifest field); default AzureADMyOrg (single tenant). */
  signInAudience: z.enum(SIGN_IN_AUDIENCES).optional(),
  /** Loaded in a frame by the issuer's sign-out page, with `?sid=` (Entra's "Front-channel logout URL"). */
  frontChannelLogoutUrl: frontChannelUrl.optional(),
  /** Entra's `optionalClaims` of the app registration: `idToken: ["login_hint"]`. */
  optionalClaims: z
    .strictObject({ idToken: z.array(z.enum(['login_hint'])).default([]) })
    .optional(),
  /** Delegated permissions the app may request: `{api identifier}/{scope}`. */
  permissions: z.array(z.string()).default([]),
  /** Application permissions granted to the app: `{api identifier}/{role}`. */
  appRoles: z.array(z.string()).default([]),
  // Certificate credentials (fake-advanced): private_key_jwt client assertions are verified with these.
  /** Manifest `keyCredentials`: PEM certificates whose keys sign this app's client assertions. */
  certificates: z.array(certificatePem).default([]),
});

const UserSchema = z.strictObject({
  upn: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must look like user@domain'),
  oid: guid,
  name: z.string().min(1),
  givenName: z.string().optional(),
  surname: z.string().optional(),
  jobTitle: z.string().optional(),
  tenant: guid.optional(),
  /**
   * Delegated permissions the user has consented to: `{api identifier}/{scope}` (to every app),
   * or `{ client, permissions }` (to that app only, as Entra records consent per app).
   */
  consents: z
    .array(
      z.union([
        z.string(),
        z.strictObject({ client: guid, permissions: z.array(z.string()).min(1) }),
      ]),
    )
    .default([]),
  // Assignments (fake-advanced): what user tokens carry in `roles`, `groups` and `wids`.
  /** App roles assigned to the user: `{api identifier}/{role}` (the `roles` of tokens for that API). */
  appRoles: z.array(z.string()).default([]),
  /** Object ids of the groups the user is a member of (`groups`; above 200, Entra's overage claim). */
  groups: z.array(guid).default([]),
  /** Role template ids of the user's directory roles (`wids`), e.g. 62e90394-69f5-4237-9190-012177145e10. */
  directoryRoles: z.array(guid).default([]),
});

// Conditional Access (fake-advanced): policies that require a second factor.
const AUTH_CONTEXT = /^c([1-9]|1[0-9]|2[0-5])$/;
const PolicySchema = z
  .strictObject({
    id: guid,
    name: z.string().min(1),
    /** UPNs the policy applies to; default every user. */
    users: z.array(z.string().min(1)).optional(),
    /** Target resources ("cloud apps"): API identifiers or client ids. */
    apis: z.array(z.string().min(1)).default([]),
    /** Target authentication contexts (`acrs` values c1-c25). */
    authenticationContexts: z
      .array(z.string().regex(AUTH_CONTEXT, 'authentication contexts are c1 to c25'))
      .default([]),
    /** Grant controls; `mfa` (require multifactor authentication) is the one the fake knows. */
    grantControls: z.array(z.literal('mfa', 'the fake knows the grant control "mfa"')).min(1),
  })
  .refine(
    (p) => p.apis.length > 0 !== p.authenticationContexts.length > 0,
    'target either apis or authenticationContexts (one of them, not both)',
  );

// Lifetimes (fake-advanced): Entra's defaults; tests shorten them.
const seconds = z.number().positive('must be a positive number of seconds');
const LifetimesSchema = z.strictObject({
  /** Seconds, or `{ min, max }`: a random lifetime in that range (Entra: 60-90 minutes). */
  accessToken: z
    .union([
      seconds,
      z
        .strictObject({ min: seconds, max: seconds })
        .refine((r) => r.min <= r.max, 'min must not exceed max'),
    ])
    .optional(),
  idToken: seconds.optional(),
  refreshToken: seconds.optional(),
  code: seconds.optional(),
  deviceCode: seconds.optional(),
  /** Seconds a device-code client waits between polls (Entra: 5). */
  deviceCodeInterval: seconds.optional(),
  /** How far `iat`/`nbf` lie before the time of issue (Entra: about 5 minutes). */
  backdate: z.number().min(0, 'must be 0 or more seconds').optional(),
});

const ConfigSchema = z
  .strictObject({
    $comment: z.string().optional(),
    tenants: z.array(TenantSchema).min(1),
    apis: z.array(ApiSchema).default([]),
    clients: z.array(ClientSchema).default([]),
    users: z.array(UserSchema).default([]),
    conditionalAccessPolicies: z.array(PolicySchema).default([]),
    lifetimes: LifetimesSchema.default({}),
  })
  .superRefine((config, ctx) => {
    const tenantIds = new Set(config.tenants.map((t) => t.id.toLowerCase()));
    const unique = (items: string[], path: (i: number) => (string | number)[], what: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.toLowerCase()))
          ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${what} "${item}"` });
        seen.add(item.toLowerCase());
      });
    };
    unique(
      config.tenants.map((t) => t.id),
      (i) => ['tenants', i, 'id'],
      'tenant id',
    );
    unique(
      config.apis.map((a) => a.clientId),
      (i) => ['apis', i, 'clientId'],
      'client id',
    );
    unique(
      config.apis.map((a) => a.identifier),
      (i) => ['apis', i, 'identifier'],
      'identifier',
    );
    unique(
      config.clients.map((c) => c.clientId),
      (i) => ['clients', i, 'clientId'],
      'client id',
    );
    unique(
      config.users.map((u) => u.upn),
      (i) => ['users', i, 'upn'],
      'upn',
    );
    unique(
      config.users.map((u) => u.oid),
      (i) => ['users', i, 'oid'],
      'oid',
    );

    const checkPermission = (
      value: string,
      kind: 'scopes' | 'appRoles',
      path: (string | number)[],
    ) => {
      const match = splitPermission(config.apis, value);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `"${value}" names no configured API (expected "{api identifier}/{name}")`,
        });
      } else if (!match.api[kind].includes(match.name)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `API "${match.api.identifier}" has no ${kind === 'scopes' ? 'scope' : 'app role'} "${match.name}"`,
        });
      }
    };
    const clientIds = new Set(config.clients.map((c) => c.clientId.toLowerCase()));
    config.apis.forEach((a, i) =>
      a.adminOnlyScopes.forEach((name, j) => {
        if (!a.scopes.includes(name))
          ctx.addIssue({
            code: 'custom',
            path: ['apis', i, 'adminOnlyScopes', j],
            message: `"${name}" is not one of the API's scopes`,
          });
      }),
    );
    config.tenants.forEach((t, i) =>
      t.adminConsents.forEach((g, j) => {
        if (!clientIds.has(g.client.toLowerCase()))
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', i, 'adminConsents', j, 'client'],
            message: `unknown client "${g.client}"`,
          });
        g.permissions.forEach((p, k) =>
          checkPermission(p, 'scopes', ['tenants', i, 'adminConsents', j, 'permissions', k]),
        );
      }),
    );
    config.clients.forEach((c, i) => {
      if (c.tenant && !tenantIds.has(c.tenant.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: ['clients', i, 'tenant'],
          message: `unknown tenant "${c.tenant}"`,
        });
      c.permissions.forEach((p, j) =>
        checkPermission(p, 'scopes', ['clients', i, 'permissions', j]),
      );
      c.appRoles.forEach((p, j) => checkPermission(p, 'appRoles', ['clients', i, 'appRoles', j]));
    });
    config.users.forEach((u, i) => {
      if (u.tenant && !tenantIds.has(u.tenant.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: ['users', i, 'tenant'],
          message: `unknown tenant "${u.tenant}"`,
        });
      u.consents.forEach((p, j) => {
        if (typeof p === 'string') return checkPermission(p, 'scopes', ['users', i, 'consents', j]);
        if (!clientIds.has(p.client.toLowerCase()))
          ctx.addIssue({
            code: 'custom',
            path: ['users', i, 'consents', j, 'client'],
            message: `unknown client "${p.client}"`,
          });
        p.permissions.forEach((q, k) =>
          checkPermission(q, 'scopes', ['users', i, 'consents', j, 'permissions', k]),
        );
      });
      u.appRoles.forEach((p, j) => checkPermission(p, 'appRoles', ['users', i, 'appRoles', j]));
    });
    unique(
      config.conditionalAccessPolicies.map((p) => p.id),
      (i) => ['conditionalAccessPolicies', i, 'id'],
      'policy id',
    );
    const upns = new Set(config.users.map((u) => u.upn.toLowerCase()));
    const apiKeys = new Set(
      config.apis.flatMap((a) => [a.identifier.toLowerCase(), a.clientId.toLowerCase()]),
    );
    config.conditionalAccessPolicies.forEach((p, i) => {
      p.users?.forEach((upn, j) => {
        if (!upns.has(upn.toLowerCase()))
          ctx.addIssue({
            code: 'custom',
            path: ['conditionalAccessPolicies', i, 'users', j],
            message: `unknown user "${upn}"`,
          });
      });
      p.apis.forEach((api, j) => {
        if (!apiKeys.has(api.replace(/\/+$/, '').toLowerCase()))
          ctx.addIssue({
            code: 'custom',
            path: ['conditionalAccessPolicies', i, 'apis', j],
            message: `"${api}" names no configured API (identifier or client id)`,
          });
      });
    });
  });

export type FakeEntraConfig = z.input<typeof ConfigSchema>;
export type HarnessConfig = z.output<typeof ConfigSchema>;
export type ApiConfig = HarnessConfig['apis'][number];
export type ClientConfig = HarnessConfig['clients'][number];
export type UserConfig = HarnessConfig['users'][number];
export type PolicyConfig = HarnessConfig['conditionalAccessPolicies'][number];
export type LifetimesConfig = HarnessConfig['lifetimes'];
export type TenantConfig = HarnessConfig['tenants'][number];
export type SignInAudience = (typeof SIGN_IN_AUDIENCES)[number];

/** `api://x/data.read` or `{api client id}/data.read` → the API and `data.read`. */
export function splitPermission<A extends { identifier: string; clientId: string }>(
  apis: readonly A[],
  value: string,
): { api: A; name: string } | undefined {
  const lower = value.toLowerCase();
  for (const api of apis) {
    for (const prefix of [api.identifier, api.clientId]) {
      if (lower.startsWith(prefix.toLowerCase() + '/')) {
        const name = value.slice(prefix.length + 1);
        if (name && !name.includes('/')) return { api, name };
      }
    }
  }
  return undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) =>
      typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key),
    '',
  );
}

/** Validates a configuration object; `source` names it in error messages. */
export function parseConfig(input: unknown, source = 'configuration'): HarnessConfig {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const details = result.error.issues.map(
      (issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`,
    );
    throw new ConfigError(`invalid fake-entra configuration in ${source}: ${details.join('; ')}`);
  }
  return result.data;
}

/** Reads and validates a JSON configuration file, or validates an object; default: config/default.json. */
export function loadConfig(config: FakeEntraConfig | string = DEFAULT_CONFIG_FILE): HarnessConfig {
  if (typeof config !== 'string') return parseConfig(config);
  let text: string;
  try {
    text = readFileSync(config, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read fake-entra configuration file ${config}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `fake-entra configuration file ${config} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return parseConfig(json, config);
}
