// Minimal HTML rendering for the browser-facing pages: everything interpolated is escaped.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}.card{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
button{font-size:1rem;padding:.5rem 1rem;cursor:pointer}.ok{color:#107c10}.no{color:#a4262c}code{background:#f3f3f3;padding:0 .2rem}`;

/** Sends a complete page; `script` (trusted, static) runs under a per-response CSP nonce. */
export function sendPage(
  ctx: Context,
  status: number,
  title: string,
  body: string,
  script?: string,
): void {
  const nonce = randomBytes(16).toString('base64');
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; frame-ancestors 'none'; base-uri 'none'`,
  );
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style nonce="${nonce}">${STYLE}</style></head>
<body>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`;
}
