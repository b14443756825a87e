// A page as the response: the layout around a body, with the navigation and a fresh sign-out
// form token when someone is signed in. Used by the routes and by the error mapper, so that
// error pages keep the navigation and sign-out.
import type { Context } from 'koa';
import { issueFormToken } from '../http/forms.ts';
import type { SessionData } from '../http/session.ts';
import type { SafeHtml } from './html.ts';
import { layout, type LayoutUser } from './layout.ts';

/** The signed-in user of the request, or undefined (also when the session store failed). */
export function signedInUser(ctx: Context): SessionData['user'] {
  try {
    return (ctx.session as unknown as SessionData | null)?.user;
  } catch {
    return undefined;
  }
}

export function renderPage(ctx: Context, title: string, body: SafeHtml): void {
  const user = signedInUser(ctx);
  let layoutUser: LayoutUser | undefined;
  if (user) {
    try {
      layoutUser = { name: user.name || user.username, signOutToken: issueFormToken(ctx) };
    } catch {
      layoutUser = undefined; // no session to keep a form token in: no sign-out form either
    }
  }
  ctx.type = 'html';
  ctx.body = layout(title, body, { user: layoutUser, path: ctx.path });
}
