// Security headers for every answer. The CSP allows no script at all; form-action must list the
// issuer's browser-facing origins, because browsers apply it to the redirect that follows the
// sign-out form's POST. Nothing may frame the app, except the front-channel logout endpoint,
// which the issuer's sign-out page loads in a frame (it sets ctx.state.frameAncestors).
import type { Middleware } from 'koa';

declare module 'koa' {
  interface DefaultState {
    /** The only origins that may frame this answer (front-channel logout); default none. */
    frameAncestors?: string[];
  }
}

export interface SecurityHeaderOptions {
  /** The issuer's browser-facing origins (form-action). */
  formActionOrigins: () => string[];
  /** The public origin is https: HSTS on every answer, whatever the hop in front says (W4). */
  hsts: boolean;
}

export function securityHeaders(options: SecurityHeaderOptions): Middleware {
  return async (ctx, next) => {
    await next();
    const formAction = ["'self'", ...options.formActionOrigins()].join(' ');
    const ancestors = ctx.state.frameAncestors;
    const frameAncestors = ancestors?.length ? ancestors.join(' ') : "'none'";
    ctx.set(
      'Content-Security-Policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors ${frameAncestors}; base-uri 'none'`,
    );
    ctx.set('X-Content-Type-Options', 'nosniff');
    // X-Frame-Options knows no list of origins: frame-ancestors alone governs a framable answer.
    if (!ancestors?.length) ctx.set('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts.
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    // The issuer's page embeds the front-channel answer: cross-origin for it.
    ctx.set('Cross-Origin-Resource-Policy', ancestors?.length ? 'cross-origin' : 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    // Pages show personal data: never keep them in a cache (nor in the back/forward cache).
    if (!ctx.path.startsWith('/static/')) ctx.set('Cache-Control', 'no-store');
  };
}
