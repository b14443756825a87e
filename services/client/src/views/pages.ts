// The home page (signed out and signed in) and the error page. Items and Me have their own
// modules; the frame is layout.ts. No script here (local-time.ts is the only one).
import { html, type SafeHtml } from './html.ts';

export { layout, type LayoutUser } from './layout.ts';

export function homeSignedOut(): SafeHtml {
  return html`<h1>Welcome</h1>
    <p class="lead">
      Sign in with your work or school account to see your profile and to keep a list of items in
      the protected API.
    </p>
    <p><a class="button" href="/auth/signin">Sign in with Microsoft</a></p>`;
}

export interface Profile {
  displayName: string;
  email: string;
  jobTitle?: string | undefined;
  /** Every field Graph's /me answered with a value, in Graph's own names (for the Me page). */
  graph: Record<string, string>;
}

export function homeSignedIn(profile: Profile): SafeHtml {
  return html`<h1>Hello, ${profile.displayName}</h1>
    <section class="card" aria-labelledby="profile-h">
      <h2 id="profile-h">Your profile</h2>
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
      <p class="source">From Microsoft Graph.</p>
    </section>
    <div class="tiles">
      <section class="card" aria-labelledby="items-h">
        <h2 id="items-h">Your list</h2>
        <p>Write short notes; the protected API keeps them for you.</p>
        <p><a class="button" href="/items/new">New item</a> <a href="/items">Open the list</a></p>
      </section>
      <section class="card" aria-labelledby="me-h">
        <h2 id="me-h">Who you are to this app</h2>
        <p>Your profile, your ID token’s claims, and what each access token allows.</p>
        <p><a href="/me">Profile and permissions</a></p>
      </section>
    </div>`;
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
  return html`<section class="error" role="alert" aria-labelledby="error-h">
    <h1 id="error-h">${e.title}</h1>
    <p data-testid="error-detail">${e.detail}</p>
    ${e.advice ? html`<p>${e.advice}</p>` : ''}
    <p class="actions">
      ${
        e.signedIn
          ? html`<a class="button" href="/">Start page</a> <a href="/items">Your list</a>`
          : html`<a class="button" href="/auth/signin">Sign in with Microsoft</a>
              <a href="/">Start page</a>`
      }
    </p>
    <p class="muted">HTTP ${e.status} · request id <code>${e.requestId}</code></p>
  </section>`;
}
