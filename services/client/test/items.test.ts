// The items pages against the real MSAL library, the real fake issuer in-process and an items
// API (test/support/items-api.ts: the contract's shapes, tokens verified with jose): list and
// paging, open, create with "Saved", inline validation that keeps the text, edit and delete
// with If-Match and the "changed elsewhere" state, permissions, error pages with navigation.
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  jest,
  test,
} from '@jest/globals';
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';
import { CONSENT_RECHECK_MS } from '../src/routes/access.ts';
import { MemoryStore } from '../src/store/store.ts';
import { Agent, finishSignIn, signIn, startTestApp, type TestApp } from './support/agent.ts';
import { ItemsApi } from './support/items-api.ts';

const { alice, bob } = DEFAULTS.users;

let fake: FakeEntra;
let api: ItemsApi;
let app: TestApp;
let store: MemoryStore;
let agent: Agent;

beforeAll(async () => {
  fake = await FakeEntra.start();
  api = await ItemsApi.start(fake);
});

beforeEach(async () => {
  store = new MemoryStore();
  app = await startTestApp({ fake, apiUrl: api.url }, {}, store);
  agent = new Agent(app.base);
  await signIn(agent, fake, alice.upn);
});

afterEach(async () => {
  await app.close();
  await store.close();
  fake.reset();
  api.reset();
});

afterAll(async () => {
  await api?.close();
  await fake?.close();
});

/** The text of a page without markup, whitespace collapsed (what a reader sees). */
const visible = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();

const textareaValue = (html: string) =>
  /<textarea[^>]*name="text"[^>]*>\n?([\s\S]*?)<\/textarea>/.exec(html)?.[1];

const hidden = (html: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&quot;/g, '"');

const hiddenKey = (html: string): Record<string, string> => {
  const key = hidden(html, 'key');
  return key ? { key } : {};
};

async function submit(path: string, formPath: string, fields: Record<string, string>) {
  const form = await agent.get(formPath);
  expect(form.status).toBe(200);
  return agent.post(
    path,
    // What a browser sends: the form's hidden fields with what was typed.
    { _csrf: Agent.formToken(form.text, path), ...hiddenKey(form.text), ...fields },
    { origin: app.base, 'sec-fetch-site': 'same-origin' },
  );
}

describe('the list', () => {
  test('empty: says so and offers the first item; the navigation marks Items', async () => {
    const page = await agent.get('/items');
    expect(page.status).toBe(200);
    expect(visible(page.text)).toContain('Your list is empty.');
    expect(page.text).toContain('href="/items/new"');
    expect(page.text).toMatch(/<a href="\/items" aria-current="page">Items<\/a>/);
    expect(page.text).toMatch(/<a href="\/me" >Me<\/a>|<a href="\/me">Me<\/a>/);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /data/items?limit=20']);
  });

  test('pages of 20, newest first, with Older and Newer links that walk back and forth', async () => {
    for (let i = 1; i <= 45; i++) api.seed(alice.upn, `note ${i}`);
    api.seed(bob.upn, 'bob’s note');
    const first = await agent.get('/items');
    const notes = (html: string) => [...html.matchAll(/>(note \d+)</g)].map((m) => m[1]);
    expect(notes(first.text)).toEqual(Array.from({ length: 20 }, (_, i) => `note ${45 - i}`));
    expect(first.text).not.toContain('bob’s note');
    expect(first.text).not.toContain('Newer');
    const older = /href="([^"]+)" rel="next">Older/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await agent.get(older);
    expect(notes(second.text)).toEqual(Array.from({ length: 20 }, (_, i) => `note ${25 - i}`));
    expect(visible(second.text)).toContain('Page 2');
    const third = await agent.get(
      /href="([^"]+)" rel="next">Older/.exec(second.text)![1]!.replace(/&amp;/g, '&'),
    );
    expect(notes(third.text)).toEqual(['note 5', 'note 4', 'note 3', 'note 2', 'note 1']);
    expect(third.text).not.toContain('rel="next"');
    const back = await agent.get(
      /href="([^"]+)" rel="prev">/.exec(third.text)![1]!.replace(/&amp;/g, '&'),
    );
    expect(notes(back.text)).toEqual(notes(second.text));
    const newest = await agent.get(
      /href="([^"]+)" rel="prev">/.exec(back.text)![1]!.replace(/&amp;/g, '&'),
    );
    expect(newest.location || '').toBe('');
    expect(notes(newest.text)).toEqual(notes(first.text));
  });

  test('a cursor the API refuses is a page that leads back to the newest items', async () => {
    const page = await agent.get('/items?cursor=bm9wZQ');
    expect(page.status).toBe(400);
    expect(visible(page.text)).toContain('This page of the list is gone');
    expect(page.text).toContain('href="/items"');
  });

  test('times are <time datetime> in UTC, no #id; each row has Edit and Delete', async () => {
    const item = api.seed(alice.upn, 'dated');
    const page = await agent.get('/items');
    expect(page.text).toContain(`<time datetime="${item.createdAt}" data-local>`);
    expect(visible(page.text)).toMatch(/Created 1 Mar 2026, 09:01 UTC/);
    expect(visible(page.text)).not.toMatch(/#\d/);
    expect(page.text).toContain(`href="/items/${item.id}/edit">Edit</a>`);
    expect(page.text).toContain(`href="/items/${item.id}/delete">Delete</a>`);
  });
});

describe('creating', () => {
  test('Save writes once with an Idempotency-Key, then the list says "Saved" once', async () => {
    const answer = await submit('/items', '/items/new', { text: '  hello <i>world</i>  ' });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/items');
    const post = api.calls.find((c) => c.method === 'POST')!;
    expect(post.status).toBe(201);
    expect(api.items.map((i) => i.data)).toEqual([{ text: 'hello <i>world</i>' }]);
    // The form's own key (a hidden field), never the form token.
    expect(post.headers['idempotency-key']).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const list = await agent.get('/items');
    expect(list.text).toContain('<p class="flash" role="status" data-testid="flash">');
    expect(visible(list.text)).toContain('Saved');
    expect(list.text).toContain('hello &lt;i&gt;world&lt;/i&gt;');
    expect(visible((await agent.get('/items')).text)).not.toContain('Saved');
  });

  test('each new-item form carries its own idempotency key, sent to the API', async () => {
    const form = await agent.get('/items/new');
    const token = Agent.formToken(form.text, '/items');
    const key = hidden(form.text, 'key')!;
    expect(key).not.toBe(hidden((await agent.get('/items/new')).text, 'key'));
    await agent.post('/items', { _csrf: token, key, text: 'once' });
    expect(api.calls.find((c) => c.method === 'POST')!.headers['idempotency-key']).toBe(key);
    expect(key).not.toContain(token);
  });

  test.each([
    ['empty', '   ', 'Type some text to save.'],
    ['too long', 'x'.repeat(501), 'At most 500 characters can be saved; this is 501.'],
  ])(
    '%s text: the form again, inline error on the field, the text kept, nothing written',
    async (_, text, message) => {
      const answer = await submit('/items', '/items/new', { text });
      expect(answer.status).toBe(400);
      expect(visible(answer.text)).toContain(message);
      expect(answer.text).toContain('aria-invalid="true"');
      expect(answer.text).toContain('aria-describedby="text-error text-hint"');
      expect(textareaValue(answer.text)).toBe(text);
      // Still the app's page with navigation and a form that can be sent again.
      expect(answer.text).toContain('aria-label="Main"');
      expect(Agent.formToken(answer.text, '/items')).toBeTruthy();
      expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
    },
  );

  test('line breaks are kept (CRLF from the browser becomes LF)', async () => {
    await submit('/items', '/items/new', { text: 'one\r\ntwo' });
    expect(api.items[0]!.data).toEqual({ text: 'one\ntwo' });
  });

  test('the earlier addresses still work: /read lists, /write shows the form, POST /write saves', async () => {
    expect(await agent.get('/read')).toMatchObject({ status: 302, location: '/items' });
    expect(await agent.get('/write')).toMatchObject({ status: 302, location: '/items/new' });
    const form = await agent.get('/items/new');
    const answer = await agent.post('/write', {
      _csrf: Agent.formToken(form.text, '/items'),
      text: 'tutorial',
    });
    expect(answer).toMatchObject({ status: 303, location: '/items' });
    expect(api.items.map((i) => i.data)).toEqual([{ text: 'tutorial' }]);
  });

  test('sent after signing out (another tab): says so, not "already submitted"', async () => {
    const form = await agent.get('/items/new');
    const token = Agent.formToken(form.text, '/items');
    const other = new Agent(app.base);
    for (const [k, v] of agent.cookies) other.cookies.set(k, v);
    const home = await other.get('/');
    await other.post('/auth/signout', { _csrf: Agent.formToken(home.text, '/auth/signout') });
    const answer = await agent.post('/items', { _csrf: token, text: 'too late' });
    expect(answer.status).toBe(401);
    expect(visible(answer.text)).toContain('You are signed out');
    expect(visible(answer.text)).toContain('nothing was saved');
    expect(answer.text).not.toContain('already submitted');
    // Without a session a form from another site is still refused as forged.
    const forged = await new Agent(app.base).post(
      '/items',
      { _csrf: token, text: 'forged' },
      { origin: 'https://evil.example' },
    );
    expect(forged.status).toBe(403);
    expect((await new Agent(app.base).post('/items', { text: 'forged' })).status).toBe(403);
    expect(api.items).toHaveLength(0);
  });
});

describe('one item: open, edit, delete', () => {
  test('open shows the text and its times', async () => {
    const item = api.seed(alice.upn, 'open me');
    const page = await agent.get(`/items/${item.id}`);
    expect(page.status).toBe(200);
    expect(visible(page.text)).toContain('open me');
    expect(page.text).toContain(`<time datetime="${item.createdAt}" data-local>`);
    expect(page.text).toMatch(/<a href="\/items" aria-current="page">Items<\/a>/);
  });

  test('edit: the form holds the text and the version; Save sends If-Match and says "Saved"', async () => {
    const item = api.seed(alice.upn, 'first draft');
    const form = await agent.get(`/items/${item.id}/edit`);
    expect(textareaValue(form.text)).toBe('first draft');
    const etag = hidden(form.text, 'etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    const answer = await agent.post(`/items/${item.id}/edit`, {
      _csrf: Agent.formToken(form.text, `/items/${item.id}/edit`),
      etag,
      text: 'second draft',
    });
    expect(answer).toMatchObject({ status: 303, location: `/items/${item.id}` });
    const put = api.calls.find((c) => c.method === 'PUT')!;
    expect(put.headers['if-match']).toBe(etag);
    expect(put.status).toBe(200);
    const page = await agent.get(`/items/${item.id}`);
    expect(visible(page.text)).toContain('Saved');
    expect(visible(page.text)).toContain('second draft');
  });

  test('edit of a version changed elsewhere: 412 → "Changed elsewhere", the current version, the typed text kept; saving again wins', async () => {
    const item = api.seed(alice.upn, 'original');
    const form = await agent.get(`/items/${item.id}/edit`);
    api.changeElsewhere(item.id, 'changed on the phone');
    const answer = await agent.post(`/items/${item.id}/edit`, {
      _csrf: Agent.formToken(form.text, `/items/${item.id}/edit`),
      etag: hidden(form.text, 'etag')!,
      text: 'changed on the laptop',
    });
    expect(answer.status).toBe(409);
    expect(api.calls.find((c) => c.method === 'PUT')!.status).toBe(412);
    expect(visible(answer.text)).toContain('Changed elsewhere');
    expect(answer.text).toMatch(/data-testid="current-version">changed on the phone</);
    expect(textareaValue(answer.text)).toBe('changed on the laptop');
    const again = await agent.post(`/items/${item.id}/edit`, {
      _csrf: Agent.formToken(answer.text, `/items/${item.id}/edit`),
      etag: hidden(answer.text, 'etag')!,
      text: 'changed on the laptop',
    });
    expect(again.status).toBe(303);
    expect(api.items[0]!.data).toEqual({ text: 'changed on the laptop' });
  });

  test('edit of an item deleted elsewhere: the text kept in a new-item form', async () => {
    const item = api.seed(alice.upn, 'doomed');
    const form = await agent.get(`/items/${item.id}/edit`);
    api.deleteElsewhere(item.id);
    const answer = await agent.post(`/items/${item.id}/edit`, {
      _csrf: Agent.formToken(form.text, `/items/${item.id}/edit`),
      etag: hidden(form.text, 'etag')!,
      text: 'keep my words',
    });
    expect(answer.status).toBe(409);
    expect(visible(answer.text)).toContain('was deleted elsewhere');
    expect(textareaValue(answer.text)).toBe('keep my words');
    expect(Agent.formToken(answer.text, '/items')).toBeTruthy();
  });

  test('edit with empty text: inline error, the typed text and the version kept', async () => {
    const item = api.seed(alice.upn, 'keep');
    const form = await agent.get(`/items/${item.id}/edit`);
    const etag = hidden(form.text, 'etag')!;
    api.changeElsewhere(item.id, 'changed meanwhile');
    const answer = await agent.post(`/items/${item.id}/edit`, {
      _csrf: Agent.formToken(form.text, `/items/${item.id}/edit`),
      etag,
      text: ' ',
    });
    expect(answer.status).toBe(400);
    expect(visible(answer.text)).toContain('Type some text to save.');
    // The version the user saw, so that the next save still notices the change.
    expect(hidden(answer.text, 'etag')).toBe(etag);
    expect(api.calls.filter((c) => c.method === 'PUT')).toHaveLength(0);
  });

  test('delete: a confirmation, then DELETE with If-Match and "Deleted" on the list', async () => {
    const item = api.seed(alice.upn, 'bye');
    const confirm = await agent.get(`/items/${item.id}/delete`);
    expect(visible(confirm.text)).toContain('Delete this item?');
    expect(visible(confirm.text)).toContain('bye');
    const answer = await agent.post(`/items/${item.id}/delete`, {
      _csrf: Agent.formToken(confirm.text, `/items/${item.id}/delete`),
      etag: hidden(confirm.text, 'etag')!,
    });
    expect(answer).toMatchObject({ status: 303, location: '/items' });
    expect(api.calls.find((c) => c.method === 'DELETE')).toMatchObject({ status: 204 });
    expect(api.items).toHaveLength(0);
    const list = await agent.get('/items');
    expect(visible(list.text)).toContain('Deleted');
    expect(visible(list.text)).toContain('Your list is empty.');
  });

  test('delete of a version changed elsewhere asks again with the current version', async () => {
    const item = api.seed(alice.upn, 'v1');
    const confirm = await agent.get(`/items/${item.id}/delete`);
    api.changeElsewhere(item.id, 'v2');
    const answer = await agent.post(`/items/${item.id}/delete`, {
      _csrf: Agent.formToken(confirm.text, `/items/${item.id}/delete`),
      etag: hidden(confirm.text, 'etag')!,
    });
    expect(answer.status).toBe(409);
    expect(answer.text).toMatch(/data-testid="current-version">v2</);
    expect(api.items).toHaveLength(1);
  });

  test('someone else’s item, or none: a 404 page that keeps the navigation and a working sign-out', async () => {
    const bobs = api.seed(bob.upn, 'not yours');
    for (const path of [`/items/${bobs.id}`, `/items/${bobs.id}/edit`, '/items/nope']) {
      const page = await agent.get(path);
      expect(page.status).toBe(404);
      expect(visible(page.text)).toContain('Item not found');
      expect(page.text).not.toContain('not yours');
      expect(page.text).toContain('aria-label="Main"');
    }
    const page = await agent.get('/nowhere');
    expect(page.status).toBe(404);
    expect(page.text).toContain('href="/items"');
    const signOut = await agent.post('/auth/signout', {
      _csrf: Agent.formToken(page.text, '/auth/signout'),
    });
    expect(signOut.status).toBe(303);
    expect(signOut.location).toContain('/oauth2/v2.0/logout');
  });
});

describe('permissions', () => {
  test('without the write permission: the forms say that saving asks for it, and a way to ask now', async () => {
    // Bob consented data.read only: writing needs his consent first.
    const reader = await startTestApp({ fake, apiUrl: api.url }, {}, store);
    try {
      const b = new Agent(reader.base);
      await signIn(b, fake, bob.upn);
      const list = await b.get('/items');
      expect(list.status).toBe(200);
      const text = visible(list.text);
      expect(text).toContain('Writing needs your consent to data.write');
      expect(text).toContain('Your list is empty.');
      expect(text).toContain('when you first save');
      expect(list.text).toContain('href="/items/new"');
      expect(list.text).toMatch(
        /<a class="button" href="\/allow-writing\?returnTo=%2Fitems">Allow writing<\/a>/,
      );
      const mine = api.seed(bob.upn, 'bob reads this');
      const withItem = await b.get('/items');
      expect(visible(withItem.text)).toContain('bob reads this');
      expect(visible(withItem.text)).toMatch(/\bEdit\b[\s\S]*\bDelete\b/);
      // The forms stay (what he types is kept across the consent round trip), with the notice.
      for (const path of ['/items/new', `/items/${mine.id}/edit`, `/items/${mine.id}/delete`]) {
        const form = await b.get(path);
        expect([path, form.status]).toEqual([path, 200]);
        expect(form.text).toMatch(/<form[^>]+action="\/items/);
        expect(visible(form.text)).toContain('Saving asks you once to allow this app to write');
      }
      // Asking for it: an interactive request for exactly data.write.
      const allow = await b.get('/allow-writing?returnTo=%2Fitems');
      expect(allow.status).toBe(303);
      expect(new URL(allow.location).searchParams.get('scope')).toBe(
        `${DEFAULTS.apiIdentifier}/data.write openid profile offline_access`,
      );
    } finally {
      await reader.close();
    }
  });

  test('a missing write consent is asked of Entra once, not on every page, and again after CONSENT_RECHECK_MS', async () => {
    const reader = await startTestApp({ fake, apiUrl: api.url }, {}, store);
    // Refresh-token grants that asked for the write permission, and how each was answered.
    const writeGrants = () =>
      fake
        .requests({ grantType: 'refresh_token' })
        .filter((r) => (r.form.scope ?? '').includes('/data.write'))
        .map((r) => r.response.error);
    try {
      const b = new Agent(reader.base);
      await signIn(b, fake, bob.upn); // consented data.read only
      const mine = api.seed(bob.upn, 'bob reads this');
      for (const path of ['/items', '/items/new', `/items/${mine.id}`, '/me', '/items']) {
        const page = await b.get(path);
        expect([path, page.status]).toEqual([path, 200]);
        expect(page.text).toContain('href="/allow-writing?returnTo=');
      }
      expect(writeGrants()).toEqual(['invalid_grant']);

      // "Allow writing" still asks at once (interactively, since consent is missing).
      const allow = await b.get('/allow-writing?returnTo=%2Fitems');
      expect(allow.status).toBe(303);
      expect(writeGrants()).toEqual(['invalid_grant', 'invalid_grant']);

      // Later, the pages ask again (consent may have been given elsewhere meanwhile).
      const later = Date.now() + CONSENT_RECHECK_MS + 1000;
      const now = jest.spyOn(Date, 'now').mockImplementation(() => later);
      try {
        expect((await b.get('/items')).status).toBe(200);
      } finally {
        now.mockRestore();
      }
      expect(writeGrants()).toEqual(['invalid_grant', 'invalid_grant', 'invalid_grant']);
    } finally {
      await reader.close();
    }
  });

  test('"Allow writing" when consent is missing: an interactive request, then back to the page', async () => {
    fake.setLifetimes({ accessToken: 60 }); // every token is refreshed: the queued answer applies
    const a = new Agent(app.base);
    await signIn(a, fake, alice.upn);
    fake.enqueueError({
      endpoint: 'token',
      grantType: 'refresh_token',
      error: 'invalid_grant',
      code: 65001,
      description: 'The user or administrator has not consented to use the application.',
      suberror: 'consent_required',
    });
    const allow = await a.get('/allow-writing?returnTo=%2Fitems%3Fcursor%3Dx');
    // Straight to the issuer for exactly data.write, then back here.
    expect(allow.status).toBe(303);
    expect(new URL(allow.location).searchParams.get('scope')).toBe(
      `${DEFAULTS.apiIdentifier}/data.write openid profile offline_access`,
    );
    const back = await finishSignIn(a, fake, allow, alice.upn);
    expect(back.location).toBe('/allow-writing?returnTo=%2Fitems%3Fcursor%3Dx');
    expect(await a.get(back.location)).toMatchObject({ status: 302, location: '/items?cursor=x' });
    // Only paths of this site are returned to.
    expect(await a.get('/allow-writing?returnTo=https%3A%2F%2Fevil.example')).toMatchObject({
      location: '/items',
    });
  });
});

describe('links and assets', () => {
  test('API docs: /api-docs leads to API_DOCS_URL, by default the API’s /docs', async () => {
    expect(await agent.get('/api-docs')).toMatchObject({
      status: 302,
      location: `${api.url}/docs`,
    });
    const other = await startTestApp(
      { fake, apiUrl: 'http://api:8000' },
      { API_DOCS_URL: 'http://localhost:8000/docs' },
      store,
    );
    try {
      expect(await new Agent(other.base).get('/api-docs')).toMatchObject({
        status: 302,
        location: 'http://localhost:8000/docs',
      });
    } finally {
      await other.close();
    }
  });

  test('favicon: an SVG linked from every page and /favicon.ico', async () => {
    const page = await agent.get('/');
    expect(page.text).toContain(
      '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />',
    );
    const svg = await agent.get('/static/favicon.svg');
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    const ico = await fetch(`${app.base}/favicon.ico`);
    expect(ico.status).toBe(200);
    expect(ico.headers.get('content-type')).toBe('image/x-icon');
    const bytes = Buffer.from(await ico.arrayBuffer());
    expect([...bytes.subarray(0, 4)]).toEqual([0, 0, 1, 0]); // ICO header
    expect(bytes.subarray(22, 26).toString('latin1')).toBe('\x89PNG');
  });
});
