// The frame of every page: header with the brand, the main navigation (the current section
// marked with aria-current), the account and its sign-out form, and the footer. Plain semantic
// HTML, readable without the stylesheet; the only script is the local-time one.
import { FAVICON_SVG } from './assets.ts';
import { html, raw, type SafeHtml } from './html.ts';
import { localTimeScript } from './local-time.ts';

export interface LayoutUser {
  name: string;
  /** One-time token for the sign-out form in the header. */
  signOutToken: string;
}

export interface LayoutOptions {
  /** Signed in: navigation, name and sign-out. */
  user?: LayoutUser | undefined;
  /** The path of the page, to mark the navigation entry it belongs to. */
  path?: string | undefined;
}

/** The app-relative link that leads to the API docs (a redirect to API_DOCS_URL). */
export const API_DOCS_PATH = '/api-docs';

const SECTIONS = [
  {
    label: 'Items',
    href: '/items',
    matches: (p: string) => p === '/items' || p.startsWith('/items/'),
  },
  { label: 'Me', href: '/me', matches: (p: string) => p === '/me' },
  { label: 'API docs', href: API_DOCS_PATH, matches: () => false },
] as const;

const BRAND_ICON = raw(FAVICON_SVG.replace('<svg ', '<svg aria-hidden="true" focusable="false" '));

function navigation(path: string, signedIn: boolean): SafeHtml {
  const sections = signedIn ? SECTIONS : SECTIONS.filter((s) => s.label === 'API docs');
  return html`<nav aria-label="Main">
    <ul>
      ${sections.map(
        (s) =>
          html`<li>
            <a href="${s.href}" ${s.matches(path) ? raw('aria-current="page"') : ''}>${s.label}</a>
          </li>`,
      )}
    </ul>
  </nav>`;
}

function account(user: LayoutUser | undefined): SafeHtml {
  if (!user)
    return html`<div class="account"><a class="button" href="/auth/signin">Sign in</a></div>`;
  return html`<div class="account">
    <span class="user-name">${user.name}</span>
    <form class="inline" method="post" action="/auth/signout">
      <input type="hidden" name="_csrf" value="${user.signOutToken}" />
      <button type="submit" class="secondary">Sign out</button>
    </form>
  </div>`;
}

export function layout(title: string, body: SafeHtml, options: LayoutOptions = {}): string {
  const { user, path = '' } = options;
  return `<!doctype html>${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>${title} · Koa Entra web app</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/app.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="site">
          <a class="brand" href="/"
            >${BRAND_ICON}<span class="brand-name">Koa Entra web app</span></a
          >
          ${navigation(path, Boolean(user))} ${account(user)}
        </header>
        <main id="main">${body}</main>
        <footer>
          Signed-in pages are never cached; sign out when you are done on a shared device.
        </footer>
        ${localTimeScript()}
      </body>
    </html>`.value
  }\n`;
}
