// A scripted person at the sign-in pages: opens the authorize URL the app built, presses
// "Sign in as {name}" on the fake's own page, then the buttons of each further page (Accept
// on the consent page, ...), keeping the issuer's cookies like a browser, and returns what the
// issuer sends back to the app. It drives the same pages a browser gets (no shortcut through
// the protocol), so it signs in exactly when a person could.
import { SESSION_COOKIE } from './context.ts';
import { FIELD } from './steps.ts';

export interface SignInOptions {
  /** The consent page's button: `accept` (default) or `cancel`. */
  consent?: 'accept' | 'cancel';
  /** Other steps' buttons by step name (default: the page's first button). */
  answers?: Record<string, string>;
  /** Start with this issuer session (`fake_entra_session=…`, e.g. from `openSession`) instead of a fresh browser. */
  cookie?: string;
}

export interface SignInResult {
  /** Where the issuer sends the browser: the redirect URI with the answer in its query or fragment, or the form_post action. */
  url: string;
  /** The answer: `code`, `state`, `session_state`, ... or `error`, `error_description`. */
  params: Record<string, string>;
  responseMode: 'query' | 'fragment' | 'form_post';
  /** The pages passed on the way, by step: e.g. `['sign-in', 'consent']` (none with SSO). */
  pages: string[];
  /** The issuer session cookie afterwards (`fake_entra_session=…`), for SSO or sign-out. */
  cookie: string | undefined;
}

const MAX_PAGES = 8;

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
  if (codes.length) return codes.join(' ');
  const main = /<main[^>]*>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? html;
  return unescapeHtml(
    main
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

function buttons(html: string): { name: string; value: string; label: string }[] {
  return [
    ...html.matchAll(
      /<button type="submit"(?: class="[^"]*")? name="([^"]*)" value="([^"]*)">([\s\S]*?)<\/button>/g,
    ),
  ].map((m) => ({
    name: unescapeHtml(m[1]!),
    value: unescapeHtml(m[2]!),
    label: unescapeHtml(m[3]!.replace(/<[^>]+>/g, '')),
  }));
}

/** The issuer session cookie a response sets (or clears), else the one we had. */
function nextCookie(response: Response, current: string | undefined): string | undefined {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';');
    if (!pair?.startsWith(`${SESSION_COOKIE}=`)) continue;
    return pair.length > SESSION_COOKIE.length + 1 ? pair : undefined;
  }
  return current;
}

async function answerOf(
  response: Response,
  at: string,
): Promise<Omit<SignInResult, 'pages' | 'cookie'> | undefined> {
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
 * Signs `upn` in at `authorizeUrl` through the pages, as a browser without an issuer session
 * would (or with `options.cookie`), and returns the issuer's answer for the app. Throws when a
 * page offers no such user or button, or shows an error instead of answering the app.
 */
export async function completeSignIn(
  authorizeUrl: string,
  upn: string,
  options: SignInOptions = {},
): Promise<SignInResult> {
  let cookie = options.cookie;
  const pages: string[] = [];
  let at = authorizeUrl;
  let response = await fetch(at, {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  for (let i = 0; i < MAX_PAGES; i++) {
    cookie = nextCookie(response, cookie);
    const answer = await answerOf(response.clone(), at);
    if (answer) return { ...answer, pages, cookie };
    const page = await response.text();
    const step = /<form method="post" action="([^"]*)" data-fake-entra-step="([^"]*)">/.exec(page);
    if (!step)
      throw new Error(`completeSignIn: ${at} shows a page without a form: ${pageText(page)}`);
    const name = unescapeHtml(step[2]!);
    pages.push(name);
    const offered = buttons(page);
    let pressed: { name: string; value: string } | undefined;
    if (name === 'sign-in') {
      pressed = offered.find(
        (b) => b.name === FIELD.user && b.value.toLowerCase() === upn.toLowerCase(),
      );
      if (!pressed) {
        const users = offered.filter((b) => b.name === FIELD.user).map((b) => b.value);
        throw new Error(
          `completeSignIn: the sign-in page offers no user "${upn}" (it offers: ${users.join(', ') || 'none'})`,
        );
      }
    } else {
      const wanted = name === 'consent' ? (options.consent ?? 'accept') : options.answers?.[name];
      pressed = wanted === undefined ? offered[0] : offered.find((b) => b.value === wanted);
      if (!pressed) {
        const title = /<h1>([\s\S]*?)<\/h1>/.exec(page)?.[1] ?? name;
        throw new Error(
          `completeSignIn: the page "${unescapeHtml(title)}" offers no "${wanted}" (it offers: ${offered.map((b) => `${b.value} "${b.label}"`).join(', ') || 'nothing'})`,
        );
      }
    }
    const action = new URL(unescapeHtml(step[1]!), at).toString();
    const body = new URLSearchParams({ ...hiddenInputs(page), [pressed.name]: pressed.value });
    at = action;
    response = await fetch(action, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(cookie ? { cookie } : {}),
      },
      body,
    });
  }
  throw new Error(`completeSignIn: still on the sign-in pages after ${MAX_PAGES} pages`);
}
