// Server-rendered pages. Plain semantic HTML (readable without the stylesheet), no script at all.
import { html, type SafeHtml } from './html.ts';

export interface LayoutUser {
  name: string;
  /** One-time token for the sign-out form in the header. */
  signOutToken: string;
}

export function layout(title: string, body: SafeHtml, user?: LayoutUser): string {
  const nav = user
    ? html`<nav aria-label="Main">
        <ul>
          <li><a href="/read">Read data</a></li>
          <li><a href="/write">Write data</a></li>
          <li><span class="muted">${user.name}</span></li>
          <li>
            <form class="inline" method="post" action="/auth/signout">
              <input type="hidden" name="_csrf" value="${user.signOutToken}" />
              <button type="submit" class="secondary">Sign out</button>
            </form>
          </li>
        </ul>
      </nav>`
    : html``;
  return `<!doctype html>${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Koa Entra web app</title>
        <link rel="stylesheet" href="/static/app.css" />
      </head>
      <body>
        <header><a class="brand" href="/">Koa Entra web app</a>${nav}</header>
        <main>${body}</main>
        <footer>
          Signed-in pages are never cached; sign out when you are done on a shared device.
        </footer>
      </body>
    </html>`.value
  }\n`;
}

export function homeSignedOut(): SafeHtml {
  return html`<h1>Welcome</h1>
    <p>
      Sign in with your work or school account to see your profile and to read and write protected
      data.
    </p>
    <p><a class="button" href="/auth/signin">Sign in with Microsoft</a></p>`;
}

export interface Profile {
  displayName: string;
  email: string;
  jobTitle?: string | undefined;
}

export function homeSignedIn(profile: Profile): SafeHtml {
  return html`<h1>Hello, ${profile.displayName}</h1>
    <section class="card" aria-labelledby="profile-h">
      <h2 id="profile-h">Your profile (Microsoft Graph)</h2>
      <dl>
        <dt>Name</dt>
        <dd data-testid="profile-name">${profile.displayName}</dd>
        <dt>Email</dt>
        <dd data-testid="profile-email">${profile.email}</dd>
        ${
          profile.jobTitle
            ? html`<dt>Job title</dt>
                <dd>${profile.jobTitle}</dd>`
            : ''
        }
      </dl>
    </section>
    <section class="card" aria-labelledby="actions-h">
      <h2 id="actions-h">Protected data</h2>
      <p>
        <a class="button" href="/read">Read data</a> <a class="button" href="/write">Write data</a>
      </p>
    </section>`;
}

export interface DataItem {
  id: string;
  text: string;
  createdAt: string;
}

export function readPage(items: DataItem[], scopes: string[]): SafeHtml {
  return html`<h1>Protected data</h1>
    <section class="card" aria-labelledby="scopes-h">
      <h2 id="scopes-h">Permissions in your access token</h2>
      <p class="scopes" data-testid="scopes">
        ${scopes.length ? scopes.map((s) => html`<code>${s}</code> `) : 'none reported'}
      </p>
    </section>
    <section class="card" aria-labelledby="items-h">
      <h2 id="items-h">Your items (${items.length})</h2>
      ${
        items.length
          ? html`<ul class="items" data-testid="items">
              ${items.map(
                (i) =>
                  html`<li>
                    <span class="item-text">${i.text}</span>
                    <span class="muted">#${i.id}${i.createdAt ? html`, ${i.createdAt}` : ''}</span>
                  </li>`,
              )}
            </ul>`
          : html`<p data-testid="no-items">
              Nothing written yet. <a href="/write">Write something</a>.
            </p>`
      }
    </section>`;
}

export function writePage(formToken: string, maxLength: number): SafeHtml {
  return html`<h1>Write protected data</h1>
    <form class="card" method="post" action="/write">
      <input type="hidden" name="_csrf" value="${formToken}" />
      <label for="text">Text to store</label>
      <input
        type="text"
        id="text"
        name="text"
        required
        maxlength="${maxLength}"
        autocomplete="off"
      />
      <button type="submit">Save</button>
    </form>`;
}

export interface ErrorView {
  status: number;
  title: string;
  detail: string;
  advice?: string | undefined;
  requestId: string;
  signedIn: boolean;
}

export function errorPage(e: ErrorView): SafeHtml {
  return html`<section class="error" role="alert">
    <h1>${e.title}</h1>
    <p data-testid="error-detail">${e.detail}</p>
    ${e.advice ? html`<p>${e.advice}</p>` : ''}
    <p>
      ${e.signedIn ? html`<a href="/">Back to the home page</a>` : html`<a class="button" href="/auth/signin">Sign in with Microsoft</a> <a href="/">Home</a>`}
    </p>
    <p class="muted">HTTP ${e.status} · request id <code>${e.requestId}</code></p>
  </section>`;
}
