// The one stylesheet, served by the app itself at /static/app.css (no CDN). Kept as a module so
// the build (tsc) ships it without a copy step. Pages stay readable without it. Colours meet
// WCAG AA contrast in both schemes (checked by axe-core in the browser suite).
export const STYLESHEET = `
:root {
  color-scheme: light dark;
  --fg: #1b1b1f; --bg: #f6f7f9; --card: #fff; --muted: #585c63; --border: #d3d6db;
  --accent: #0f6cbd; --on-accent: #fff; --accent-soft: #e8f1fb;
  --bad: #b3261e; --on-bad: #fff; --ok-bg: #e6f4ea; --ok-fg: #0d5a28;
  --note-bg: #fff7e0; --note-border: #b38200; --focus: #0f6cbd;
  --space: 1rem; --radius: .5rem;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e8e8ea; --bg: #131417; --card: #1d1f23; --muted: #a9adb4; --border: #3a3d44;
    --accent: #6cb3ff; --on-accent: #0b1a2b; --accent-soft: #17283b;
    --bad: #ff8a80; --on-bad: #2b0905; --ok-bg: #12301c; --ok-fg: #a8dab5;
    --note-bg: #2a2410; --note-border: #c9a227; --focus: #6cb3ff;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-underline-offset: .15em; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: .5rem; top: -3rem; padding: .5rem 1rem; background: var(--card); border-radius: var(--radius); z-index: 1; }
.skip:focus { top: .5rem; }
.sr-only, .brand-name.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

/* Header: one row, also at 360 px (brand text and name move out of sight on phones). */
header.site { display: flex; align-items: center; gap: .5rem 1rem; padding: .375rem max(1rem, calc((100% - 46rem) / 2)); background: var(--card); border-bottom: 1px solid var(--border); }
.brand { display: inline-flex; align-items: center; gap: .5rem; min-height: 44px; font-weight: 600; color: inherit; text-decoration: none; white-space: nowrap; }
.brand svg { width: 28px; height: 28px; flex: none; }
header nav ul { display: flex; gap: .125rem; list-style: none; margin: 0; padding: 0; }
header nav a { display: inline-flex; align-items: center; min-height: 44px; padding: 0 .5rem; border-radius: .375rem; color: var(--fg); text-decoration: none; white-space: nowrap; }
header nav a:hover { background: var(--accent-soft); }
header nav a[aria-current="page"] { color: var(--accent); font-weight: 600; box-shadow: inset 0 -3px 0 var(--accent); border-radius: 0; }
.account { margin-left: auto; display: flex; align-items: center; gap: .75rem; }
.user-name { color: var(--muted); font-size: .875rem; max-width: 12rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
@media (max-width: 40rem) {
  header.site { gap: .25rem; padding: .25rem .5rem; }
  .brand-name, .user-name { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  header nav a { padding: 0 .375rem; }
  .account .button, .account button { padding: .5rem .625rem; }
}

main, footer { max-width: 48rem; margin: 0 auto; padding: var(--space); }
main { min-height: 60vh; }
footer { color: var(--muted); font-size: .875rem; border-top: 1px solid var(--border); }
h1 { font-size: 1.625rem; line-height: 1.25; margin: .75rem 0 1rem; }
h2 { font-size: 1.125rem; line-height: 1.3; margin: 0 0 .75rem; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
p { margin: 0 0 .75rem; }
p:last-child { margin-bottom: 0; }
.lead { font-size: 1.0625rem; }
.source, .hint { color: var(--muted); font-size: .875rem; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--border); border-radius: var(--radius); padding: 1rem 1.25rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 0 1rem; }
.page-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem; margin-bottom: 1rem; }
.page-head h1 { margin: 0; }
.crumbs { margin: .5rem 0 0; font-size: .9375rem; }

.button, button { display: inline-flex; align-items: center; justify-content: center; min-height: 44px; padding: .5rem 1rem; font: inherit; font-weight: 600; line-height: 1.2; border-radius: .375rem; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); text-decoration: none; cursor: pointer; }
.button:hover, button:hover { filter: brightness(1.08); }
.button.secondary, button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); color: var(--on-bad); }
form.inline { display: inline; margin: 0; }
.form-actions, .actions { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1.25rem; margin-top: 1rem; }

label { display: block; font-weight: 600; margin-bottom: .25rem; }
textarea, input[type=text] { display: block; width: 100%; font: inherit; padding: .625rem .75rem; border: 1px solid var(--muted); border-radius: .375rem; background: var(--bg); color: var(--fg); resize: vertical; }
textarea[aria-invalid="true"] { border: 2px solid var(--bad); }
.hint { margin: 0 0 .5rem; }
.field-error { color: var(--bad); font-weight: 600; margin: 0 0 .5rem; }

.flash { background: var(--ok-bg); color: var(--ok-fg); border-radius: var(--radius); padding: .625rem 1rem; font-weight: 600; margin: 0 0 1rem; }
.notice { background: var(--note-bg); border: 1px solid var(--note-border); border-left-width: 4px; border-radius: var(--radius); padding: .75rem 1rem; margin: 0 0 1rem; }
.notice h2 { font-size: 1rem; margin-bottom: .375rem; }
blockquote { margin: .5rem 0 .75rem; padding: .5rem .75rem; border-left: 4px solid var(--border); background: var(--bg); white-space: pre-wrap; overflow-wrap: anywhere; }

ul.items { list-style: none; margin: 0; padding: 0; }
ul.items li { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 0 1rem; padding: .625rem 0; border-bottom: 1px solid var(--border); }
ul.items li:first-child { padding-top: 0; }
ul.items li:last-child { border-bottom: 0; padding-bottom: 0; }
.item-text { grid-column: 1; font-weight: 500; white-space: pre-wrap; overflow-wrap: anywhere; }
.meta { grid-column: 1; color: var(--muted); font-size: .875rem; }
.row-actions { grid-column: 2; grid-row: 1 / span 2; display: flex; align-items: center; gap: .25rem; }
.row-actions a { display: inline-flex; align-items: center; min-height: 44px; padding: 0 .5rem; }
@media (max-width: 30rem) {
  ul.items li { grid-template-columns: minmax(0, 1fr); }
  .row-actions { grid-column: 1; grid-row: auto; margin-left: -.5rem; }
}
.item-body { font-size: 1.125rem; white-space: pre-wrap; }
.empty { text-align: center; padding: 1rem 0; }
.paging { display: flex; justify-content: space-between; align-items: center; gap: 1rem; margin-top: 1rem; padding-top: .75rem; border-top: 1px solid var(--border); }
.paging a { display: inline-flex; align-items: center; min-height: 44px; }

dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .375rem 1rem; margin: 0 0 .75rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 30rem) { dl { grid-template-columns: minmax(0, 1fr); gap: 0; } dd { margin-bottom: .5rem; } }
.token { border-top: 1px solid var(--border); padding-top: .75rem; margin-top: .75rem; }
.token:first-of-type { border-top: 0; padding-top: 0; margin-top: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .875em; }
.scopes code { display: inline-block; margin: 0 .25rem .25rem 0; padding: .0625rem .375rem; border: 1px solid var(--border); border-radius: .25rem; }
.error h1 { color: var(--bad); }
`;
