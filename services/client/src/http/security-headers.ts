// Security headers for every answer. The CSP allows one script, by its hash (local time, see
// views/local-time.ts); form-action must list the issuer's browser-facing origins, because
// browsers apply it to the redirect that follows the sign-out form's POST.
import type { Middleware } from 'koa';
import { LOCAL_TIME_SCRIPT_HASH } from '../views/local-time.ts';

export function securityHeaders(formActionOrigins: () => string[]): Middleware {
  return async (ctx, next) => {
    await next();
    const formAction = ["'self'", ...formActionOrigins()].join(' ');
    ctx.set(
      'Content-Security-Policy',
      `default-src 'none'; script-src ${LOCAL_TIME_SCRIPT_HASH}; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    );
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts.
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    // Pages show personal data: never keep them in a cache (nor in the back/forward cache).
    if (!ctx.path.startsWith('/static/')) ctx.set('Cache-Control', 'no-store');
  };
}
