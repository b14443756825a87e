// The Me page: the Graph profile, the ID token's claims, and per resource what the access
// tokens the app holds allow (scopes, roles) and until when. Only decoded claims are shown,
// never a token itself.
import { html, type SafeHtml } from './html.ts';
import { epochTime } from './local-time.ts';
import type { WriteAccess } from './items.ts';
import type { Profile } from './pages.ts';

/** What one access token says about itself (decoded, not verified: it is not ours to verify). */
export interface TokenSummary {
  /** What the app uses it for, e.g. "reading items". */
  purpose: string;
  audience: string;
  scopes: string[];
  roles: string[];
  expiresAt: unknown;
  issuedAt: unknown;
  version: string | undefined;
  authenticationContexts: string[];
}

export interface ResourceView {
  name: string;
  tokens: TokenSummary[];
  /** The write permission, when it is not granted yet. */
  missing?: WriteAccess | undefined;
}

export interface MeView {
  profile: Profile;
  idTokenClaims: Record<string, unknown>;
  resources: ResourceView[];
  apiDocsUrl: string;
}

/** What the ID token's claims mean, for the ones Entra issues (Microsoft's claims reference). */
const CLAIM_MEANINGS: Record<string, string> = {
  aud: 'audience: this app’s client id',
  iss: 'issuer: who signed the token',
  iat: 'issued at',
  nbf: 'not valid before',
  exp: 'expires',
  name: 'display name',
  oid: 'your object id in the directory',
  preferred_username: 'sign-in name',
  sub: 'your id for this app',
  tid: 'tenant (directory) id',
  ver: 'token version',
  sid: 'issuer session id',
  nonce: 'ties the token to this sign-in',
  login_hint: 'names your account at sign-out',
  rh: 'internal to Entra',
  uti: 'token id',
  aio: 'internal to Entra',
  email: 'email address',
  idp: 'identity provider',
  acrs: 'authentication contexts satisfied',
  amr: 'authentication methods',
};

const TIME_CLAIMS = new Set(['iat', 'nbf', 'exp', 'auth_time']);

function claimValue(name: string, value: unknown): SafeHtml | string {
  if (TIME_CLAIMS.has(name)) return epochTime(value);
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const list = (values: string[], none: string) =>
  values.length
    ? values.map((v) => html`<code>${v}</code> `)
    : html`<span class="muted">${none}</span>`;

function tokenCard(t: TokenSummary): SafeHtml {
  return html`<div class="token" data-testid="token">
    <h3>Token for ${t.purpose}</h3>
    <dl>
      <dt>Scopes</dt>
      <dd class="scopes" data-testid="token-scopes">${list(t.scopes, 'none')}</dd>
      <dt>Roles</dt>
      <dd class="scopes" data-testid="token-roles">${list(t.roles, 'none')}</dd>
      <dt>Expires</dt>
      <dd data-testid="token-expires">${epochTime(t.expiresAt)}</dd>
      <dt>Issued</dt>
      <dd>${epochTime(t.issuedAt)}</dd>
      <dt>Audience</dt>
      <dd><code>${t.audience}</code></dd>
      ${
        t.version
          ? html`<dt>Version</dt>
              <dd>${t.version}</dd>`
          : ''
      }
      ${
        t.authenticationContexts.length
          ? html`<dt>Authentication contexts</dt>
              <dd>${list(t.authenticationContexts, 'none')}</dd>`
          : ''
      }
    </dl>
  </div>`;
}

function resourceCard(r: ResourceView, index: number): SafeHtml {
  const missing = r.missing?.state === 'consent_required' ? r.missing : undefined;
  return html`<section class="card" aria-labelledby="resource-${index}-h" data-testid="resource">
    <h2 id="resource-${index}-h">${r.name}</h2>
    ${r.tokens.map(tokenCard)}
    ${
      missing
        ? html`<div class="token" data-testid="permission-missing">
            <h3>Not granted: <code>${missing.scope}</code></h3>
            <p>Writing needs your consent to ${missing.scope}.</p>
            <p><a class="button" href="${missing.consentUrl}">Allow writing</a></p>
          </div>`
        : ''
    }
  </section>`;
}

export function mePage(v: MeView): SafeHtml {
  const profileFields = Object.entries(v.profile.graph);
  const claims = Object.entries(v.idTokenClaims);
  return html`<h1>${v.profile.displayName}</h1>
    <p class="lead">What this app knows about you, and what it may do for you.</p>
    <section class="card" aria-labelledby="graph-profile-h">
      <h2 id="graph-profile-h">Profile</h2>
      <dl data-testid="graph-profile">
        ${profileFields.map(
          ([field, value]) =>
            html`<dt>${field}</dt>
              <dd>${value}</dd>`,
        )}
      </dl>
      <p class="source">From Microsoft Graph, <code>/v1.0/me</code>.</p>
    </section>
    ${v.resources.map(resourceCard)}
    <section class="card" aria-labelledby="id-token-h">
      <h2 id="id-token-h">ID token claims</h2>
      <p class="source">
        From the ID token of your sign-in (decoded; the token itself is never shown).
      </p>
      <dl class="claims" data-testid="id-token-claims">
        ${claims.map(
          ([name, value]) =>
            html`<dt><code>${name}</code></dt>
              <dd>
                ${claimValue(name, value)}${
                  CLAIM_MEANINGS[name]
                    ? html` <span class="muted">(${CLAIM_MEANINGS[name]})</span>`
                    : ''
                }
              </dd>`,
        )}
      </dl>
    </section>
    <section class="card" aria-labelledby="docs-h">
      <h2 id="docs-h">Try the API yourself</h2>
      <p>
        The API documents every route and lets you sign in and call it:
        <a href="${v.apiDocsUrl}" data-testid="api-docs-link">${v.apiDocsUrl}</a>
      </p>
    </section>`;
}
