// The one stylesheet, served by the app itself at /static/app.css (no CDN). Kept as a module so
// the build (tsc) ships it without a copy step. Pages stay readable without it.
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fafafa; --muted: #5c5f66; --accent: #0f6cbd; --card: #fff; --border: #d6d8dc; --bad: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #16171a; --muted: #a4a7ad; --accent: #5aa9ff; --card: #1f2024; --border: #3a3c42; --bad: #ff8a80; } }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 48rem; margin: 0 auto; padding: 1rem; }
header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; justify-content: space-between; border-bottom: 1px solid var(--border); }
header .brand { font-weight: 600; color: inherit; text-decoration: none; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .75rem; margin: 0; padding: 0; align-items: center; }
a { color: var(--accent); }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: .5rem; padding: 1rem; margin: 1rem 0; overflow-wrap: anywhere; }
.button, button { display: inline-block; font: inherit; padding: .6rem 1rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; text-decoration: none; cursor: pointer; min-height: 44px; }
button.secondary { background: transparent; color: var(--accent); }
form.inline { display: inline; margin: 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=text] { width: 100%; font: inherit; padding: .6rem; border: 1px solid var(--border); border-radius: .4rem; background: var(--bg); color: var(--fg); margin-bottom: .75rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
ul.items { padding-left: 1.25rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.scopes code { display: inline-block; margin: 0 .25rem .25rem 0; padding: .1rem .4rem; border: 1px solid var(--border); border-radius: .3rem; }
.error h1 { color: var(--bad); }
.muted, footer { color: var(--muted); font-size: .875rem; }
`;
