// Items as the user sees them: the list with paging, one item, the new-item and edit forms and
// the delete confirmation. Writes check the session and the one-time form token first, keep
// what was typed when it cannot be saved (inline errors, "changed elsewhere"), and end with a
// redirect and a one-time note ("Saved", "Deleted").
import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { FormFields } from '../http/pending-write.ts';
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
import {
  ALLOW_WRITING_PATH,
  scopesOf,
  withReadToken,
  withWriteToken,
  writeAccess,
  writeToken,
} from './access.ts';
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
 * the form token cannot be checked, and nothing was saved: say so plainly. Runs before the
 * pending-write middleware (deps.writes), which checks the form token.
 */
const signedIn =
  (deps: RouteDeps): Middleware =>
  async (ctx, next) => {
    if (session(ctx)?.user) return next();
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
  };

/** The user of a write: signed in, the form token proved it (deps.writes checked it). */
const writer = (ctx: Context) => session(ctx)!.user!;

/**
 * The new-item form's idempotency key (a random hidden field, kept with the other fields across
 * a consent round trip): the same form submitted again writes once.
 */
const idempotencyKey = (fields: FormFields) =>
  typeof fields.key === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(fields.key)
    ? fields.key
    : undefined;

/** A fresh key for a new-item form. */
const newIdempotencyKey = () => randomBytes(18).toString('base64url');

const notFound = () =>
  new PageError(
    404,
    'Item not found',
    'There is no item at this address in your list; it may have been deleted.',
    'Open your list to see what is there.',
  );

/**
 * Creates an item from the form, then "Saved" on the list. `name` tells the kept writes of the
 * two addresses apart (POST /items, and /write of earlier versions).
 */
export const createItem = (deps: RouteDeps, name: string): Middleware[] => [
  signedIn(deps),
  deps.writes.form(`items.create.${name}`, async (ctx, fields) => {
    const user = writer(ctx);
    const typed = typedText(fields);
    const checked = validate(typed);
    if ('error' in checked) {
      const { access } = await writeAccess(deps, user, '/items/new');
      ctx.status = 400;
      page(
        ctx,
        'New item',
        newItemPage({
          formToken: issueFormToken(ctx),
          idempotencyKey: idempotencyKey(fields) ?? newIdempotencyKey(),
          text: typed,
          error: checked.error,
          access,
        }),
      );
      return;
    }
    await withWriteToken(deps, user, (token) =>
      deps.upstreams.createItem(token, checked.text, idempotencyKey(fields)),
    );
    setFlash(ctx, { kind: 'saved' });
    ctx.status = 303;
    ctx.redirect('/items');
  }),
];

export function itemRoutes(deps: RouteDeps): Router {
  const { upstreams } = deps;
  const router = new Router();

  async function loadItem(ctx: Context, id: string): Promise<Item> {
    const user = session(ctx)!.user!;
    const item = await withReadToken(deps, user, (token) => upstreams.getItem(token, id));
    if (!item) throw notFound();
    return item;
  }

  router.get('/items', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const cursor =
      typeof ctx.query.cursor === 'string' && ctx.query.cursor ? ctx.query.cursor : undefined;
    const back = cursor ? queryList(ctx.query.back) : [];
    let list;
    let readScopes: string[] = [];
    try {
      list = await withReadToken(deps, user, (token) => {
        readScopes = scopesOf(token);
        return upstreams.listItems(token, { limit: PAGE_SIZE, cursor });
      });
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
        readScopes,
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
    page(
      ctx,
      'New item',
      newItemPage({ formToken: issueFormToken(ctx), idempotencyKey: newIdempotencyKey(), access }),
    );
  });

  router.post('/items', ...createItem(deps, 'items'));

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

  router.post(
    '/items/:id/edit',
    signedIn(deps),
    deps.writes.form('items.update', async (ctx, fields) => {
      const user = writer(ctx);
      const id = ctx.params.id!;
      const typed = typedText(fields);
      const etag = fields.etag ?? '';
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
      const result = await withWriteToken(deps, user, (token) =>
        upstreams.updateItem(token, id, checked.text, etag),
      );
      if (result.outcome === 'done') {
        setFlash(ctx, { kind: 'saved' });
        ctx.status = 303;
        ctx.redirect(`/items/${encodeURIComponent(id)}`);
        return;
      }
      const current =
        result.outcome === 'stale'
          ? await withReadToken(deps, user, (token) => upstreams.getItem(token, id))
          : undefined;
      ctx.status = 409;
      if (!current) {
        page(
          ctx,
          'New item',
          newItemPage({
            formToken: issueFormToken(ctx),
            idempotencyKey: newIdempotencyKey(),
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
    }),
  );

  router.get('/items/:id/delete', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const item = await loadItem(ctx, ctx.params.id!);
    const { access } = await writeAccess(deps, user, ctx.originalUrl);
    page(ctx, 'Delete item', deleteItemPage({ item, formToken: issueFormToken(ctx), access }));
  });

  router.post(
    '/items/:id/delete',
    signedIn(deps),
    deps.writes.form(
      'items.delete',
      async (ctx, fields) => {
        const user = writer(ctx);
        const id = ctx.params.id!;
        const etag = fields.etag ?? '';
        const result = await withWriteToken(deps, user, (token) =>
          upstreams.deleteItem(token, id, etag),
        );
        const current =
          result.outcome === 'stale'
            ? await withReadToken(deps, user, (token) => upstreams.getItem(token, id))
            : undefined;
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
      },
      { typed: [] },
    ),
  );

  return router;
}
