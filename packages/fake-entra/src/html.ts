// The browser-facing pages (sign-in, consent, admin approval, sign-out, errors) share one layout
// and one stylesheet in the web app's look: light and dark (prefers-color-scheme), readable at
// 360 px, WCAG 2.1 AA contrast, landmarks and one h1. Everything interpolated is escaped; the
// style and the few scripts run under a per-response CSP nonce, nothing else may load.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The pages' stylesheet; colours checked at AA (4.5:1 for text) in both schemes. */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fafafa; --muted: #55585e; --accent: #0f6cbd; --on-accent: #fff; --card: #fff; --border: #c9ccd1; --bad: #b3261e; --ok: #0b6a0b; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #16171a; --muted: #b0b3b9; --accent: #6cb4ff; --on-accent: #0b1a2b; --card: #1f2024; --border: #4a4d54; --bad: #ff8a80; --ok: #7fd88a; } }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 40rem; margin: 0 auto; padding: 1rem; }
header { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; border-bottom: 1px solid var(--border); }
header .brand { font-weight: 600; }
a { color: var(--accent); }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.125rem; margin: 0 0 .25rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: .5rem; padding: 1rem; margin: 1rem 0; overflow-wrap: anywhere; }
.card > :first-child { margin-top: 0; } .card > :last-child { margin-bottom: 0; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
button { font: inherit; padding: .6rem 1rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; min-height: 44px; }
button.secondary { background: transparent; color: var(--accent); }
button:focus-visible, a:focus-visible { outline: 3px solid var(--fg); outline-offset: 2px; }
ul.permissions { padding-left: 1.25rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.muted, footer { color: var(--muted); font-size: .875rem; }
.error h1 { color: var(--bad); }
.fcl { position: absolute; width: 0; height: 0; border: 0; }
`;

export interface PageOptions {
  /** A trusted, static script (runs under the response's nonce). */
  script?: string;
  /** The app the page belongs to: a link back to it (its redirect URI's origin) in the footer. */
  back?: { name: string; href: string };
  /** Origins the page may frame (front-channel logout). */
  frameOrigins?: string[];
  /** Class of <main> (e.g. "error"). */
  mainClass?: string;
}

/** The link back to an app: the origin of its (already validated) redirect URI. */
export function backToApp(name: string, redirectUri: string): { name: string; href: string } {
  return { name, href: `${new URL(redirectUri).origin}/` };
}

/** Sends a complete page: banner, main (the body, which starts with its h1), footer. */
export function sendPage(
  ctx: Context,
  status: number,
  title: string,
  body: string,
  options: PageOptions = {},
): void {
  const nonce = randomBytes(16).toString('base64');
  const frames = options.frameOrigins?.length ? options.frameOrigins.join(' ') : "'none'";
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src data:; frame-src ${frames}; frame-ancestors 'none'; base-uri 'none'`,
  );
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  const back = options.back
    ? `<p><a href="${escapeHtml(options.back.href)}">Back to ${escapeHtml(options.back.name)}</a></p>`
    : '';
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLESHEET}</style>${options.script ? `<script nonce="${nonce}">${options.script}</script>` : ''}</head>
<body><header><span class="brand">Fake Entra ID</span><span class="muted">offline test issuer, not Microsoft</span></header>
<main${options.mainClass ? ` class="${options.mainClass}"` : ''}>${body}</main>
<footer>${back}</footer></body></html>`;
}
