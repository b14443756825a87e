// The pages: home (Graph profile), reading and writing protected data through the API.
import Router from '@koa/router';
import { InteractionRequiredError, PageError } from '../errors.ts';
import { consumeFormToken, issueFormToken } from '../http/forms.ts';
import { homeSignedIn, homeSignedOut, readPage, writePage } from '../views/pages.ts';
import { page, requireUser, session, type RouteDeps } from './common.ts';

export const MAX_TEXT_LENGTH = 500;

export function pageRoutes(deps: RouteDeps): Router {
  const { auth, upstreams, ownOrigin } = deps;
  const router = new Router();

  router.get('/', async (ctx) => {
    const user = session(ctx)?.user;
    if (!user) {
      page(ctx, 'Welcome', homeSignedOut());
      return;
    }
    const token = await auth.accessToken(user, 'graph');
    const profile = await upstreams.profile(token.accessToken);
    page(ctx, 'Home', homeSignedIn(profile));
  });

  router.get('/read', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const token = await auth.accessToken(user, 'api');
    const { items, scopes } = await upstreams.readData(token.accessToken);
    page(ctx, 'Read data', readPage(items, scopes));
  });

  router.get('/write', (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    page(ctx, 'Write data', writePage(issueFormToken(ctx), MAX_TEXT_LENGTH));
  });

  router.post('/write', async (ctx) => {
    consumeFormToken(ctx, ownOrigin);
    const user = session(ctx)?.user;
    if (!user) throw new InteractionRequiredError('signed_out');
    const body = ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
    const text = typeof body.text === 'string' ? body.text.trim() : '';
    if (!text)
      throw new PageError(
        400,
        'Nothing to save',
        'The text field was empty.',
        'Go back and type something.',
      );
    if (text.length > MAX_TEXT_LENGTH) {
      throw new PageError(
        400,
        'Text too long',
        `At most ${MAX_TEXT_LENGTH} characters can be saved.`,
        'Go back and shorten it.',
      );
    }
    const token = await auth.accessToken(user, 'api');
    await upstreams.writeData(token.accessToken, text);
    ctx.status = 303;
    ctx.redirect('/read');
  });

  return router;
}
