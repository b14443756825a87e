// Items as the user sees them: the list with paging, one item, the new-item and edit forms and
// the delete confirmation. Writes check the session and the one-time form token first, keep
// what was typed when it cannot be saved (inline errors, "changed elsewhere"), and end with a
// redirect and a one-time note ("Saved", "Deleted").
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { PageError } from '../errors.ts';
import { consumeFormToken, issueFormToken } from '../http/forms.ts';
import { StaleCursorError, type Item } from '../upstream.ts';
import {
  deleteItemPage,
  editItemPage,
  itemPage,
  itemsPage,
  MAX_TEXT_LENGTH,
  newItemPage,
  type Flash,
  type FormError,
} from '../views/items.ts';
import { safeReturnPath } from '../auth/return-to.ts';
import { ALLOW_WRITING_PATH, readToken, writeAccess, writeToken } from './access.ts';
import { page, requireUser, session, type RouteDeps } from './common.ts';

export const PAGE_SIZE = 20;
/** How many earlier pages the "Newer" link remembers (it carries their cursors in the URL). */
const MAX_BACK = 20;

const FLASH_KEY = 'itemsFlash';

function setFlash(ctx: Context, flash: Flash): void {
  const data = session(ctx) as unknown as Record<string, unknown> | null;
  if (data) data[FLASH_KEY] = flash;
}

/** The note for this page, shown once. */
function takeFlash(ctx: Context): Flash | undefined {
  const data = session(ctx) as unknown as Record<string, unknown> | null;
  const flash = data?.[FLASH_KEY] as Flash | undefined;
  if (data && flash) delete data[FLASH_KEY];
  return flash;
}

const queryList = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
    (s): s is string => typeof s === 'string',
  );

function listHref(cursor: string | undefined, back: string[]): string {
  const q = new URLSearchParams();
  if (cursor) q.set('cursor', cursor);
  for (const b of back.slice(-MAX_BACK)) q.append('back', b);
  const s = q.toString();
  return s ? `/items?${s}` : '/items';
}

function formBody(ctx: Context): Record<string, unknown> {
  return ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
}

/** What was typed, as typed (line breaks as the browser sends them, CRLF, made LF). */
const typedText = (body: Record<string, unknown>) =>
  typeof body.text === 'string' ? body.text.replace(/\r\n?/g, '\n') : '';

function validate(typed: string): { text: string } | { error: FormError } {
  const text = typed.trim();
  if (!text) return { error: { message: 'Type some text to save.' } };
  if (text.length > MAX_TEXT_LENGTH)
    return {
      error: {
        message: `At most ${MAX_TEXT_LENGTH} characters can be saved; this is ${text.length}.`,
      },
    };
  return { text };
}

/**
 * A write needs a signed-in session; without one (signed out in another tab, session expired)
 * the form token cannot be checked, and nothing was saved: say so plainly.
 */
function requireWriter(ctx: Context, deps: RouteDeps) {
  const user = session(ctx)?.user;
  if (!user) {
    // A form from another site (or without a token) is refused as such, 403, whoever sent it.
    const origin = ctx.get('Origin');
    if (
      ctx.get('Sec-Fetch-Site') === 'cross-site' ||
      (origin && origin !== deps.ownOrigin) ||
      typeof formBody(ctx)._csrf !== 'string'
    )
      consumeFormToken(ctx, deps.ownOrigin);
    throw new PageError(
      401,
      'You are signed out',
      'You were signed out (perhaps in another tab, or after a long pause) before this form was sent, so nothing was saved.',
      'Sign in again and send it once more.',
    );
  }
  consumeFormToken(ctx, deps.ownOrigin);
  return user;
}

/** The same form submitted again (a retry, the pending write after consent) writes once. */
const idempotencyKey = (ctx: Context) =>
  createHash('sha256')
    .update(String(formBody(ctx)._csrf ?? ''))
    .digest('base64url');

const notFound = () =>
  new PageError(
    404,
    'Item not found',
    'There is no item at this address in your list; it may have been deleted.',
    'Open your list to see what is there.',
  );

/** Creates an item from the form; `done` is where the browser goes after "Saved". */
export const createItem = (deps: RouteDeps, done: string) => async (ctx: Context) => {
  const user = requireWriter(ctx, deps);
  const typed = typedText(formBody(ctx));
  const checked = validate(typed);
  if ('error' in checked) {
    const { access } = await writeAccess(deps, user, '/items/new');
    ctx.status = 400;
    page(
      ctx,
      'New item',
      newItemPage({ formToken: issueFormToken(ctx), text: typed, error: checked.error, access }),
    );
    return;
  }
  const token = await writeToken(deps, user);
  await deps.upstreams.createItem(token.accessToken, checked.text, idempotencyKey(ctx));
  setFlash(ctx, { kind: 'saved' });
  ctx.status = 303;
  ctx.redirect(done);
};

export function itemRoutes(deps: RouteDeps): Router {
  const { upstreams } = deps;
  const router = new Router();

  async function loadItem(ctx: Context, id: string, token?: string): Promise<Item> {
    const user = session(ctx)!.user!;
    const item = await upstreams.getItem(token ?? (await readToken(deps, user)).accessToken, id);
    if (!item) throw notFound();
    return item;
  }

  router.get('/items', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const cursor =
      typeof ctx.query.cursor === 'string' && ctx.query.cursor ? ctx.query.cursor : undefined;
    const back = cursor ? queryList(ctx.query.back) : [];
    const token = await readToken(deps, user);
    let list;
    try {
      list = await upstreams.listItems(token.accessToken, { limit: PAGE_SIZE, cursor });
    } catch (error) {
      if (!(error instanceof StaleCursorError)) throw error;
      throw new PageError(
        400,
        'This page of the list is gone',
        'The link to this page of your list is no longer valid.',
        'Start again from the newest items.',
      );
    }
    const { access } = await writeAccess(deps, user, ctx.originalUrl);
    const newerHref = cursor ? listHref(back.at(-1) || undefined, back.slice(0, -1)) : undefined;
    const olderHref = list.nextCursor
      ? listHref(list.nextCursor, cursor ? [...back, cursor] : [''])
      : undefined;
    page(
      ctx,
      'Your items',
      itemsPage({
        items: list.items,
        flash: takeFlash(ctx),
        access,
        pageNumber: cursor ? back.length + 1 : 1,
        newerHref,
        olderHref,
      }),
    );
  });

  router.get('/items/new', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const { access } = await writeAccess(deps, user, ctx.originalUrl);
    page(ctx, 'New item', newItemPage({ formToken: issueFormToken(ctx), access }));
  });

  router.post('/items', createItem(deps, '/items'));

  // "Allow writing": asks for a write token; when that needs the user (consent to the write
  // permission), the interaction middleware sends the browser to the issuer for it and back here.
  router.get(ALLOW_WRITING_PATH, async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    await writeToken(deps, user);
    ctx.redirect(safeReturnPath(ctx.query.returnTo, '/items'));
  });

  router.get('/items/:id', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const item = await loadItem(ctx, ctx.params.id!);
    const { access } = await writeAccess(deps, user, ctx.originalUrl);
    page(ctx, 'Item', itemPage(item, takeFlash(ctx), access));
  });

  router.get('/items/:id/edit', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const item = await loadItem(ctx, ctx.params.id!);
    const { access } = await writeAccess(deps, user, ctx.originalUrl);
    page(
      ctx,
      'Edit item',
      editItemPage({ item, formToken: issueFormToken(ctx), text: item.text, access }),
    );
  });

  router.post('/items/:id/edit', async (ctx) => {
    const user = requireWriter(ctx, deps);
    const id = ctx.params.id!;
    const body = formBody(ctx);
    const typed = typedText(body);
    const etag = typeof body.etag === 'string' ? body.etag : '';
    const checked = validate(typed);
    const editPath = `/items/${encodeURIComponent(id)}/edit`;
    if ('error' in checked) {
      // The version the user saw stays the one the next save is checked against.
      const item = { ...(await loadItem(ctx, id)), ...(etag ? { etag } : {}) };
      const { access } = await writeAccess(deps, user, editPath);
      ctx.status = 400;
      page(
        ctx,
        'Edit item',
        editItemPage({
          item,
          formToken: issueFormToken(ctx),
          text: typed,
          error: checked.error,
          access,
        }),
      );
      return;
    }
    const token = await writeToken(deps, user);
    const result = await upstreams.updateItem(token.accessToken, id, checked.text, etag);
    if (result.outcome === 'done') {
      setFlash(ctx, { kind: 'saved' });
      ctx.status = 303;
      ctx.redirect(`/items/${encodeURIComponent(id)}`);
      return;
    }
    const current =
      result.outcome === 'stale' ? await upstreams.getItem(token.accessToken, id) : undefined;
    ctx.status = 409;
    if (!current) {
      page(
        ctx,
        'New item',
        newItemPage({
          formToken: issueFormToken(ctx),
          text: typed,
          access: { state: 'granted' },
          deletedElsewhere: true,
        }),
      );
      return;
    }
    page(
      ctx,
      'Edit item',
      editItemPage({
        item: current,
        formToken: issueFormToken(ctx),
        text: typed,
        access: { state: 'granted' },
        conflict: true,
      }),
    );
  });

  router.get('/items/:id/delete', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const item = await loadItem(ctx, ctx.params.id!);
    const { access } = await writeAccess(deps, user, ctx.originalUrl);
    page(ctx, 'Delete item', deleteItemPage({ item, formToken: issueFormToken(ctx), access }));
  });

  router.post('/items/:id/delete', async (ctx) => {
    const user = requireWriter(ctx, deps);
    const id = ctx.params.id!;
    const body = formBody(ctx);
    const etag = typeof body.etag === 'string' ? body.etag : '';
    const token = await writeToken(deps, user);
    const result = await upstreams.deleteItem(token.accessToken, id, etag);
    const current =
      result.outcome === 'stale' ? await upstreams.getItem(token.accessToken, id) : undefined;
    if (!current) {
      // Deleted now, or already gone: either way it is not in the list any more.
      setFlash(ctx, { kind: 'deleted' });
      ctx.status = 303;
      ctx.redirect('/items');
      return;
    }
    ctx.status = 409;
    page(
      ctx,
      'Delete item',
      deleteItemPage({
        item: current,
        formToken: issueFormToken(ctx),
        access: { state: 'granted' },
        conflict: true,
      }),
    );
  });

  return router;
}
