// A scripted person at the sign-in page: opens the authorize URL the app built, presses
// "Sign in as {name}" on the fake's own page, and returns what the issuer sends back to the app.
// It drives the same pages a browser gets (no shortcut through the protocol), so it signs in
// exactly when a person could.
import { SIGNIN_FIELD } from './routes/authorize.ts';
import { SECOND_FACTOR_APPROVED, SECOND_FACTOR_FIELD } from './second-factor.ts';

export interface SignInResult {
  /** Where the issuer sends the browser: the redirect URI with the answer in its query or fragment, or the form_post action. */
  url: string;
  /** The answer: `code`, `state`, `session_state`, ... or `error`, `error_description`. */
  params: Record<string, string>;
  responseMode: 'query' | 'fragment' | 'form_post';
  /** The sign-in asked for a second factor (a Conditional Access policy), and it was approved. */
  secondFactor?: boolean;
}

const unescapeHtml = (s: string) =>
  s.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!,
  );

function hiddenInputs(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    out[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  return out;
}

function pageText(html: string): string {
  const codes = [...html.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((m) => unescapeHtml(m[1]!));
  return codes.join(' ') || html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
}

async function answerOf(response: Response, at: string): Promise<SignInResult | undefined> {
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    if (!location)
      throw new Error(`completeSignIn: ${at} answered ${response.status} without a Location`);
    const url = new URL(location, at);
    const fragment = url.hash.length > 1;
    const params = Object.fromEntries(
      new URLSearchParams(fragment ? url.hash.slice(1) : url.search),
    );
    return { url: url.toString(), params, responseMode: fragment ? 'fragment' : 'query' };
  }
  const html = await response.text();
  if (response.status !== 200)
    throw new Error(`completeSignIn: ${at} answered ${response.status}: ${pageText(html)}`);
  const formPost = /<form method="post" action="([^"]*)">/.exec(html);
  if (formPost && html.includes('document.forms[0].submit()')) {
    return {
      url: new URL(unescapeHtml(formPost[1]!), at).toString(),
      params: hiddenInputs(html),
      responseMode: 'form_post',
    };
  }
  return undefined;
}

/**
 * Signs `upn` in at `authorizeUrl` through the sign-in page, as a browser without an issuer
 * session would, and returns the issuer's answer for the app. Throws when the page offers no
 * such user or shows an error instead of answering the app.
 */
export async function completeSignIn(authorizeUrl: string, upn: string): Promise<SignInResult> {
  const first = await fetch(authorizeUrl, { redirect: 'manual' });
  const direct = await answerOf(first.clone(), authorizeUrl);
  if (direct) return direct; // answered without the page (e.g. an error for the app)
  const page = await first.text();
  const buttons = [
    ...page.matchAll(
      new RegExp(`<button type="submit" name="${SIGNIN_FIELD}" value="([^"]*)">`, 'g'),
    ),
  ].map((m) => unescapeHtml(m[1]!));
  const user = buttons.find((b) => b.toLowerCase() === upn.toLowerCase());
  if (!user)
    throw new Error(
      `completeSignIn: the sign-in page offers no user "${upn}" (it offers: ${buttons.join(', ') || 'none'})`,
    );
  const form = /<form method="post" action="([^"]*)">/.exec(page);
  if (!form) throw new Error('completeSignIn: the sign-in page has no form');
  const action = new URL(unescapeHtml(form[1]!), authorizeUrl).toString();
  const body = new URLSearchParams({ ...hiddenInputs(page), [SIGNIN_FIELD]: user });
  const second = await fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  let answer = await answerOf(second.clone(), action);
  if (!answer) {
    // A Conditional Access policy asked for a second factor: approve it, as the person would.
    const page2 = await second.text();
    if (!page2.includes(`name="${SECOND_FACTOR_FIELD}" value="${SECOND_FACTOR_APPROVED}"`))
      throw new Error(`completeSignIn: ${action} answered a page instead of the app`);
    const approve = await fetch(action, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...hiddenInputs(page2),
        [SECOND_FACTOR_FIELD]: SECOND_FACTOR_APPROVED,
      }),
    });
    answer = await answerOf(approve, action);
    if (!answer) throw new Error(`completeSignIn: ${action} answered a page instead of the app`);
    answer.secondFactor = true;
  }
  return answer;
}
