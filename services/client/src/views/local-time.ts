// Times are rendered on the server as UTC inside <time datetime>, and shown in the reader's own
// time zone by one tiny inline script, the only script of the app. The browser's time zone
// reaches a server in no header (Accept-Language names a language, no client hint names a
// zone), and a preference would be one more setting to get wrong; the script needs none. The
// CSP allows exactly this script by its hash; without script the UTC text stays, labelled so.
import { createHash } from 'node:crypto';
import { html, raw, type SafeHtml } from './html.ts';

/** Rewrites every <time data-local> into the browser's locale and time zone. */
export const LOCAL_TIME_SCRIPT =
  "for(const t of document.querySelectorAll('time[data-local]')){" +
  'const d=new Date(t.dateTime);' +
  'if(!isNaN(d)){' +
  "t.textContent=new Intl.DateTimeFormat(undefined,{dateStyle:'medium',timeStyle:'short'}).format(d);" +
  "t.title=d.toISOString().replace('.000Z','Z')}}";

/** The CSP source that allows LOCAL_TIME_SCRIPT and nothing else. */
export const LOCAL_TIME_SCRIPT_HASH = `'sha256-${createHash('sha256').update(LOCAL_TIME_SCRIPT).digest('base64')}'`;

export const localTimeScript = (): SafeHtml => raw(`<script>${LOCAL_TIME_SCRIPT}</script>`);

const UTC = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'UTC',
});

/** A moment: `<time>` with the exact instant, UTC text until the script shows it locally. */
export function time(iso: string | undefined | null): SafeHtml {
  const date = iso ? new Date(iso) : undefined;
  if (!date || Number.isNaN(date.getTime())) return html`<span class="muted">unknown</span>`;
  const exact = date.toISOString();
  return html`<time datetime="${exact}" data-local>${UTC.format(date)} UTC</time>`;
}

/** Seconds since the epoch (JWT `exp`, `iat`, `nbf`) as a moment. */
export const epochTime = (seconds: unknown): SafeHtml =>
  typeof seconds === 'number' && Number.isFinite(seconds)
    ? time(new Date(seconds * 1000).toISOString())
    : html`<span class="muted">not given</span>`;
