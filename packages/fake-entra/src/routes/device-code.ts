// The device authorization grant (RFC 8628) as Entra serves it: POST /{tenant}/oauth2/v2.0/devicecode
// answers a device code and a user code; the person opens the verification page (browser-facing
// URL), enters the code, signs in (second factor when a policy asks) or cancels; meanwhile the
// device polls the token endpoint: authorization_pending, then the tokens, or
// authorization_declined / expired_token.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { randomBytes, randomInt } from 'node:crypto';
import type { UserConfig } from '../config.ts';
import type { ConsentNeed } from '../directory.ts';
import { needsSecondFactor, parseClaimsRequest } from '../conditional-access.ts';
import type { Harness } from '../context.ts';
import type { EntraError } from '../errors.ts';
import { entraTimestamp, errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { escapeHtml, sendPage } from '../html.ts';
import { formParams, readParams, required, type Params } from '../params.ts';
import { SECOND_FACTOR_APPROVED, secondFactorPage, withSecondFactor } from '../second-factor.ts';
import { FIELD } from '../steps.ts';
import { delegatedResponse } from '../token-response.ts';
import { passwordOnly, type AuthState } from '../tokens.ts';
import type { AuthenticatedClient } from './token.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** MSAL sends the short name Entra has accepted since its v1.0 endpoint. */
export const DEVICE_CODE_GRANT_SHORT = 'device_code';
/** The field of the verification page that holds the user code (Entra's is `otc`). */
export const USER_CODE_FIELD = 'otc';
const CANCEL_FIELD = 'fake_entra_cancel';
/** The consent page's answer (`accept` or `cancel`). */
const CONSENT_FIELD = 'fake_entra_consent';
// Letters and digits that cannot be mistaken for one another when read off a screen.
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  clientId: string;
  /** The tenant of the request, undefined for common/organizations. */
  tenant: string | undefined;
  scope: string;
  claims: string | undefined;
  expiresAt: number;
  status: 'pending' | 'approved' | 'declined' | 'failed' | 'redeemed';
  userOid?: string;
  auth?: AuthState;
  /** Why a sign-in failed (answered to the device's next poll). */
  error?: EntraError;
  /** The user who approved the second factor for this device sign-in. */
  secondFactorOf?: string;
}

/** Device authorizations by device code and by user code, forgotten an hour after expiry. */
export class DeviceCodeStore {
  readonly #byDevice = new Map<string, DeviceAuthorization>();
  readonly #byUser = new Map<string, DeviceAuthorization>();

  add(entry: Omit<DeviceAuthorization, 'deviceCode' | 'userCode' | 'status'>): DeviceAuthorization {
    this.sweep();
    let userCode: string;
    do {
      userCode = Array.from(
        { length: 9 },
        () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)],
      ).join('');
    } while (this.#byUser.has(userCode));
    const full: DeviceAuthorization = {
      ...entry,
      deviceCode: `DAQABIQEAAAD${randomBytes(96).toString('base64url')}`,
      userCode,
      status: 'pending',
    };
    this.#byDevice.set(full.deviceCode, full);
    this.#byUser.set(userCode, full);
    return full;
  }

  byDeviceCode(code: string): DeviceAuthorization | undefined {
    return this.#byDevice.get(code);
  }

  byUserCode(code: string): DeviceAuthorization | undefined {
    return this.#byUser.get(code.replace(/[\s-]/g, '').toUpperCase());
  }

  private sweep(): void {
    if (this.#byDevice.size < 1000) return;
    const cutoff = Date.now() - 60 * 60 * 1000;
    for (const [k, v] of this.#byDevice)
      if (v.expiresAt < cutoff) {
        this.#byDevice.delete(k);
        this.#byUser.delete(v.userCode);
      }
  }
}

/** The browser-facing verification page (Entra: login.microsoftonline.com/common/oauth2/deviceauth). */
export const verificationUri = (h: Harness) => `${h.publicUrl}/common/oauth2/deviceauth`;

/** Grant `urn:ietf:params:oauth:grant-type:device_code` at the token endpoint (the device polls). */
export function deviceCodeGrant(
  h: Harness,
  { client, method }: AuthenticatedClient,
  p: Params,
  tenant: string | undefined,
): Record<string, unknown> {
  const code = required(p, 'device_code');
  const entry = h.deviceCodes.byDeviceCode(code);
  if (!entry || entry.clientId.toLowerCase() !== client.clientId.toLowerCase())
    throw errors.badDeviceCode('It is unknown to this issuer or belongs to another client.');
  if (tenant && entry.tenant && entry.tenant.toLowerCase() !== tenant.toLowerCase())
    throw errors.badDeviceCode('It was issued for another tenant.');
  if (entry.status === 'redeemed') throw errors.deviceCodeRedeemed();
  if (entry.status === 'declined') throw errors.authorizationDeclined();
  if (entry.status === 'failed') throw entry.error!;
  if (entry.expiresAt < Date.now()) throw errors.deviceCodeExpired();
  if (entry.status === 'pending') throw errors.authorizationPending();
  const user = h.directory.user(entry.userOid!);
  if (!user) throw errors.badDeviceCode('The user who signed in no longer exists.');
  entry.status = 'redeemed';
  const resolved = h.directory.resolveScopeGroups(entry.scope);
  const grant = h.directory.grantDelegated(client, user, resolved.groups[0]!);
  return delegatedResponse(h, client, DEVICE_CODE_GRANT, {
    user,
    tenant: h.directory.userTenant(user),
    grant,
    oidc: resolved.oidc,
    auth: entry.auth,
    claims: parseClaimsRequest(entry.claims),
    scopeParam: entry.scope,
    clientAuth: method,
  });
}

function codeForm(ctx: Context, h: Harness, message?: string): void {
  sendPage(
    ctx,
    message ? 400 : 200,
    'Enter code',
    `<h1>Enter code</h1>
<p>Enter the code displayed on your app or device.</p>
${message ? `<div class="card" role="alert"><p>${escapeHtml(message)}</p></div>` : ''}
<form method="post" action="${escapeHtml(ctx.path)}" data-fake-entra-step="device-code">
<div class="card"><label for="${USER_CODE_FIELD}">Code</label>
<input id="${USER_CODE_FIELD}" name="${USER_CODE_FIELD}" autocomplete="off" autocapitalize="characters" required></div>
<div class="actions"><button type="submit">Next</button></div>
</form>
<p class="muted">Device sign-in for ${escapeHtml(h.publicUrl)}.</p>`,
    message ? { mainClass: 'error' } : {},
  );
}

function userPicker(ctx: Context, h: Harness, entry: DeviceAuthorization, appName: string): void {
  const users = h.directory.usersOf(entry.tenant);
  const cards = users
    .map(
      (
        u,
      ) => `<div class="card"><h2>${escapeHtml(u.name)}</h2><p class="muted">${escapeHtml(u.upn)}</p>
<button type="submit" name="${FIELD.user}" value="${escapeHtml(u.upn)}">Sign in as ${escapeHtml(u.name)}</button></div>`,
    )
    .join('\n');
  sendPage(
    ctx,
    200,
    'Sign in to your account',
    `<h1>Are you trying to sign in to ${escapeHtml(appName)}?</h1>
<p>Only continue if you downloaded the app from a store or website that you trust.</p>
<form method="post" action="${escapeHtml(ctx.path)}" data-fake-entra-step="sign-in">
<input type="hidden" name="${USER_CODE_FIELD}" value="${escapeHtml(entry.userCode)}">
${cards || '<p>No users are configured for this tenant.</p>'}
<div class="actions"><button type="submit" class="secondary" name="${CANCEL_FIELD}" value="1">Cancel</button></div>
</form>`,
  );
}

function consentPage(
  ctx: Context,
  appName: string,
  user: UserConfig,
  need: ConsentNeed,
  hidden: string,
): void {
  const list = (need.adminOnly.length ? need.adminOnly : need.missing)
    .map(
      (q) =>
        `<li><strong>${escapeHtml(q.api.name)}</strong>: <code>${escapeHtml(q.name)}</code></li>`,
    )
    .join('');
  const who = `<p class="muted">Signed in as ${escapeHtml(user.name)} (${escapeHtml(user.upn)})</p>`;
  const form = `<form method="post" action="${escapeHtml(ctx.path)}" data-fake-entra-step="consent">${hidden}`;
  if (!need.userMayConsent) {
    sendPage(
      ctx,
      200,
      'Need admin approval',
      `<h1>Need admin approval</h1>${who}
<div class="card"><p>${escapeHtml(appName)} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>
<ul class="permissions">${list}</ul><p class="muted">AADSTS90094</p></div>
${form}<div class="actions"><button type="submit" class="secondary" name="${CONSENT_FIELD}" value="cancel">Return to the application without granting consent</button></div></form>`,
    );
    return;
  }
  sendPage(
    ctx,
    200,
    'Permissions requested',
    `<h1>Permissions requested</h1>${who}
<div class="card"><p><strong>${escapeHtml(appName)}</strong> would like to:</p><ul class="permissions">${list}</ul></div>
${form}<div class="actions"><button type="submit" name="${CONSENT_FIELD}" value="accept">Accept</button>
<button type="submit" class="secondary" name="${CONSENT_FIELD}" value="cancel">Cancel</button></div></form>`,
  );
}

function done(ctx: Context, title: string, text: string): void {
  sendPage(
    ctx,
    200,
    title,
    `<h1>${escapeHtml(title)}</h1><div class="card"><p>${escapeHtml(text)}</p></div>`,
  );
}

export function registerDeviceCode(router: Router, h: Harness): void {
  router.post('/:tenant/oauth2/v2.0/devicecode', (ctx) => {
    const tenantSegment = ctx.params.tenant!;
    const { tenantId } = h.directory.requireTenant(tenantSegment);
    const p = formParams(ctx);
    const queued = h.hooks.takeError('devicecode', { clientId: p.client_id });
    if (queued) throw entraErrorOf(queued);
    // Unknown or of another tenant: AADSTS700016; single-tenant on /common: AADSTS50194.
    const client = h.directory.clientAt(required(p, 'client_id'), tenantSegment);
    const scope = required(p, 'scope');
    // Validate what is asked for now, as Entra does, not at the first poll (scopes the
    // registration does not list are dynamic consent: the person is asked on the page).
    h.directory.resolveScopeGroups(scope);
    parseClaimsRequest(p.claims);
    const { deviceCode: lifetime, deviceCodeInterval } = h.tokens.lifetimes;
    const entry = h.deviceCodes.add({
      clientId: client.clientId,
      tenant: tenantId,
      scope,
      claims: p.claims,
      expiresAt: Date.now() + lifetime * 1000,
    });
    const uri = verificationUri(h);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      user_code: entry.userCode,
      device_code: entry.deviceCode,
      verification_uri: uri,
      expires_in: lifetime,
      interval: deviceCodeInterval,
      message: `To sign in, use a web browser to open the page ${uri} and enter the code ${entry.userCode} to authenticate.`,
    };
  });

  const page = async (ctx: Context & { params: Record<string, string> }) => {
    h.directory.requireTenant(ctx.params.tenant!);
    if (ctx.method === 'GET') return codeForm(ctx, h);
    const p = readParams((ctx.request as unknown as { body?: unknown }).body);
    const typed = p[USER_CODE_FIELD] ?? '';
    const entry = h.deviceCodes.byUserCode(typed);
    if (!entry)
      return codeForm(
        ctx,
        h,
        `AADSTS70018: That code didn't work. Check the code and try again. (${entraTimestamp()})`,
      );
    if (entry.expiresAt < Date.now())
      return codeForm(
        ctx,
        h,
        'AADSTS70019: The code you entered has expired. Get a new code from the device you are trying to sign in to and try again.',
      );
    if (entry.status !== 'pending')
      return codeForm(ctx, h, 'AADSTS90120: The request was already authorized or declined.');
    const client = h.directory.client(entry.clientId)!;
    if (p[CANCEL_FIELD] !== undefined) {
      entry.status = 'declined';
      return done(
        ctx,
        'Sign-in canceled',
        `You declined to sign in to ${client.name} on the other device. You may now close this window.`,
      );
    }
    const picked = p[FIELD.user];
    const user: UserConfig | undefined = picked
      ? h.directory.usersOf(entry.tenant).find((u) => u.upn.toLowerCase() === picked.toLowerCase())
      : undefined;
    if (!user) return userPicker(ctx, h, entry, client.name);

    const { groups } = h.directory.resolveScopeGroups(entry.scope);
    const hidden = `<input type="hidden" name="${USER_CODE_FIELD}" value="${escapeHtml(entry.userCode)}">
<input type="hidden" name="${FIELD.user}" value="${escapeHtml(user.upn)}">`;
    // As at /authorize: the second factor first (Entra authenticates before it asks consent).
    let auth = passwordOnly(ctx.ip);
    const claims = parseClaimsRequest(entry.claims);
    const apis = groups.map((g) => g.api);
    if (needsSecondFactor(h.directory.config, user, apis, claims, auth)) {
      if (p[FIELD.answer] === SECOND_FACTOR_APPROVED) entry.secondFactorOf = user.oid;
      if (entry.secondFactorOf !== user.oid)
        return secondFactorPage(
          ctx,
          { userName: user.name, upn: user.upn, appName: client.name },
          `<form method="post" action="${escapeHtml(ctx.path)}" data-fake-entra-step="second-factor">${hidden}`,
          { name: FIELD.answer, value: SECOND_FACTOR_APPROVED },
        );
      auth = withSecondFactor(auth);
    }
    // Then consent for what the device asked for: the consent page, or admin approval.
    const need = h.directory.consentNeeded(client, user, groups);
    if (need.missing.length > 0) {
      const answer = p[CONSENT_FIELD];
      if (need.userMayConsent && answer === 'accept') {
        h.directory.recordConsent(client, user, need.missing);
      } else if (answer === 'cancel' || (!need.userMayConsent && answer !== undefined)) {
        entry.status = need.userMayConsent ? 'declined' : 'failed';
        if (!need.userMayConsent)
          entry.error = errors.consentRequired(client.clientId, client.name);
        return done(
          ctx,
          'Sign-in canceled',
          `${client.name} did not get the permissions it asked for. You may now close this window.`,
        );
      } else {
        return consentPage(ctx, client.name, user, need, hidden);
      }
    }
    entry.status = 'approved';
    entry.userOid = user.oid;
    entry.auth = auth;
    return done(
      ctx,
      `${client.name}`,
      `You have signed in to the ${client.name} application on your device. You may now close this window.`,
    );
  };
  router.get('/:tenant/oauth2/deviceauth', page);
  router.post('/:tenant/oauth2/deviceauth', page);
}
