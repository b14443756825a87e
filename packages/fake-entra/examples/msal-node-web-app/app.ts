// A minimal server-side web app that signs people in with MSAL Node (authorization code flow
// with PKCE, state and nonce) and shows their Microsoft Graph profile. Nothing in it knows about
// the fake issuer: pointed at login.microsoftonline.com it runs against real Entra ID.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfidentialClientApplication, CryptoProvider, type AccountInfo } from '@azure/msal-node';

export interface WebAppSettings {
  /** `https://login.microsoftonline.com/{tenant}`, or the fake's `fake.authority()`. */
  authority: string;
  clientId: string;
  clientSecret: string;
  /** A redirect URI registered for the app; on http://localhost any port matches. */
  redirectUri: string;
  /** `https://graph.microsoft.com`, or the fake's `fake.graphBaseUrl`. */
  graphBaseUrl: string;
}

interface Session {
  pending?: { state: string; nonce: string; verifier: string };
  account?: AccountInfo;
}

const MICROSOFT_HOSTS = ['login.microsoftonline.com', 'login.microsoftonline.us'];
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const same = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function createWebApp(settings: WebAppSettings): Server {
  const host = new URL(settings.authority).host;
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      authority: settings.authority,
      // Any other issuer host must be named, or MSAL asks Microsoft's instance discovery.
      knownAuthorities: MICROSOFT_HOSTS.includes(host) ? [] : [host],
    },
  });
  const crypto = new CryptoProvider();
  const sessions = new Map<string, Session>();

  function session(req: IncomingMessage, res: ServerResponse): Session {
    const id = /(?:^|;\s*)sid=([A-Za-z0-9_-]{43})/.exec(req.headers.cookie ?? '')?.[1];
    if (id && sessions.has(id)) return sessions.get(id)!;
    const fresh = randomBytes(32).toString('base64url');
    sessions.set(fresh, {});
    res.setHeader('Set-Cookie', `sid=${fresh}; HttpOnly; SameSite=Lax; Path=/`);
    return sessions.get(fresh)!;
  }

  function page(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
    });
    res.end(`<!doctype html><title>MSAL Node web app</title>${body}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', settings.redirectUri);
    const s = session(req, res);

    if (url.pathname === '/signin') {
      const { verifier, challenge } = await crypto.generatePkceCodes();
      s.pending = {
        state: randomBytes(32).toString('base64url'),
        nonce: randomBytes(32).toString('base64url'),
        verifier,
      };
      const location = await msal.getAuthCodeUrl({
        scopes: ['User.Read'],
        redirectUri: settings.redirectUri,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        state: s.pending.state,
        nonce: s.pending.nonce,
      });
      res.writeHead(302, { location }).end();
      return;
    }

    if (url.pathname === new URL(settings.redirectUri).pathname) {
      const pending = s.pending;
      delete s.pending; // one answer per sign-in
      const state = url.searchParams.get('state') ?? '';
      if (!pending || !same(state, pending.state))
        return page(res, 400, '<p>This answer does not belong to a sign-in of this browser.</p>');
      const error = url.searchParams.get('error');
      if (error) return page(res, 400, `<p>Sign-in failed: ${escape(error)}</p>`);
      const code = url.searchParams.get('code') ?? '';
      const result = await msal.acquireTokenByCode(
        {
          code,
          scopes: ['User.Read'],
          redirectUri: settings.redirectUri,
          codeVerifier: pending.verifier,
          state: pending.state,
          nonce: pending.nonce,
        },
        { code, state },
      );
      s.account = result.account ?? undefined;
      res.writeHead(302, { location: '/' }).end();
      return;
    }

    if (url.pathname === '/') {
      if (!s.account) return page(res, 200, '<a href="/signin">Sign in</a>');
      // From MSAL's cache, refreshed with the refresh token when it has expired.
      const { accessToken } = await msal.acquireTokenSilent({
        account: s.account,
        scopes: ['User.Read'],
      });
      const me = (await (
        await fetch(`${settings.graphBaseUrl}/v1.0/me`, {
          headers: { authorization: `Bearer ${accessToken}` },
        })
      ).json()) as { displayName?: string; mail?: string };
      return page(
        res,
        200,
        `<h1>Hello, ${escape(me.displayName ?? '')}</h1><p>${escape(me.mail ?? '')}</p>`,
      );
    }

    page(res, 404, '<p>Not found</p>');
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // MSAL's errors name the problem (e.g. invalid_grant); never the tokens.
      page(res, 500, `<p>Error: ${escape((error as Error).message)}</p>`);
    });
  });
}
