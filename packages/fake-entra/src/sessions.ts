// The issuer's browser sessions (Entra's SSO cookie): which accounts a browser is signed in
// with, each with its session id (`sid`, in ID tokens and front-channel logout) and the apps
// it signed in to. And the signed "flow" that carries one sign-in across the steps of the
// sign-in page (pick user, consent, ...) without trusting what the browser posts back.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { SESSION_COOKIE } from './context.ts';

export interface SessionAccount {
  userOid: string;
  /** The tenant the account signed in to (the user's home tenant). */
  tenant: string;
  /** Entra's session id: a GUID generated when the session is established (`sid` claim). */
  sid: string;
  /** When the user last authenticated (seconds). */
  authTime: number;
  /** Client ids of the apps this account signed in to in this browser (front-channel logout). */
  clients: Set<string>;
}

export interface BrowserSession {
  accounts: SessionAccount[];
}

/** One sign-in in progress, signed so that a page's answer cannot name another user. */
export interface SignInFlow {
  userOid: string;
  authTime: number;
  /** The authorize request it belongs to (client id and redirect URI). */
  clientId: string;
  redirectUri: string;
  /** Names of the sign-in steps already completed (e.g. `consent`). */
  done: string[];
  /** Expiry (seconds). */
  exp: number;
}

const MAX_SESSIONS = 10_000;
const FLOW_LIFETIME_SECONDS = 600;
const now = () => Math.floor(Date.now() / 1000);

export class IssuerSessions {
  readonly #sessions = new Map<string, BrowserSession>();
  readonly #flowKey = randomBytes(32);

  /** The session the request's cookie names, if any. */
  of(ctx: Context): BrowserSession | undefined {
    return this.get(ctx.cookies.get(SESSION_COOKIE));
  }

  get(cookieValue: string | undefined): BrowserSession | undefined {
    return cookieValue ? this.#sessions.get(cookieValue) : undefined;
  }

  /**
   * Signs `userOid` in to the browser session `cookieValue` (a new one if none): the account
   * keeps its sid if it was signed in already. The session gets a new cookie value at every
   * sign-in (no fixation). Returns the new cookie value and the account.
   */
  signIn(
    cookieValue: string | undefined,
    userOid: string,
    tenant: string,
  ): { cookie: string; account: SessionAccount } {
    const session = this.get(cookieValue) ?? { accounts: [] };
    if (cookieValue) this.#sessions.delete(cookieValue);
    let account = session.accounts.find(
      (a) => a.userOid === userOid && a.tenant.toLowerCase() === tenant.toLowerCase(),
    );
    if (!account) {
      account = { userOid, tenant, sid: randomUUID(), authTime: now(), clients: new Set() };
      session.accounts.push(account);
    } else {
      account.authTime = now();
    }
    if (this.#sessions.size >= MAX_SESSIONS)
      this.#sessions.delete(this.#sessions.keys().next().value!);
    const cookie = randomBytes(24).toString('base64url');
    this.#sessions.set(cookie, session);
    return { cookie, account };
  }

  /** Removes an account from a session; the session ends with its last account. */
  signOut(cookieValue: string, account: SessionAccount): void {
    const session = this.get(cookieValue);
    if (!session) return;
    session.accounts = session.accounts.filter((a) => a !== account);
    if (session.accounts.length === 0) this.#sessions.delete(cookieValue);
  }

  /** The account with this sid in any session (the sid claim of a token names it). */
  accountOfSid(sid: string): SessionAccount | undefined {
    for (const s of this.#sessions.values()) {
      const a = s.accounts.find((x) => x.sid === sid);
      if (a) return a;
    }
    return undefined;
  }

  signFlow(flow: Omit<SignInFlow, 'exp'>): string {
    const body = Buffer.from(
      JSON.stringify({ ...flow, exp: now() + FLOW_LIFETIME_SECONDS }),
    ).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** The flow a page posted back, or undefined when it is missing, forged or expired. */
  verifyFlow(value: string | undefined): SignInFlow | undefined {
    if (!value) return undefined;
    const [body, mac] = value.split('.');
    if (!body || !mac) return undefined;
    const expected = Buffer.from(this.#mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const flow = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SignInFlow;
      return flow.exp > now() ? flow : undefined;
    } catch {
      return undefined;
    }
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#flowKey).update(body).digest('base64url');
  }
}

/** Sets the issuer's session cookie (Lax: sent on the top-level navigations to /authorize). */
export function setSessionCookie(ctx: Context, value: string): void {
  ctx.cookies.set(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    overwrite: true,
  });
}

export function clearSessionCookie(ctx: Context): void {
  ctx.cookies.set(SESSION_COOKIE, '', {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    expires: new Date(0),
    overwrite: true,
  });
}
