// The pages: home (Graph profile), reading and writing protected data through the API.
import Router from '@koa/router';
import { InteractionRequiredError, PageError } from '../errors.ts';
import { issueFormToken } from '../http/forms.ts';
import { homeSignedIn, homeSignedOut, readPage, writePage } from '../views/pages.ts';
import { page, requireUser, session, type RouteDeps } from './common.ts';

export const MAX_TEXT_LENGTH = 500;

export function pageRoutes(deps: RouteDeps): Router {
  const { auth, upstreams, writes } = deps;
  const router = new Router();

  router.get('/', async (ctx) => {
    const user = session(ctx)?.user;
    if (!user) {
      page(ctx, 'Welcome', homeSignedOut());
      return;
    }
    const profile = await auth.withAccessToken(user, 'graph', auth.scopes.graph, (token) =>
      upstreams.profile(token),
    );
    page(ctx, 'Home', homeSignedIn(profile));
  });

  router.get('/read', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const { items, scopes } = await auth.withAccessToken(
      user,
      'api',
      auth.scopes.apiRead,
      (token) => upstreams.readData(token),
    );
    page(ctx, 'Read data', readPage(items, scopes));
  });

  router.get('/write', (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    page(ctx, 'Write data', writePage(issueFormToken(ctx), MAX_TEXT_LENGTH));
  });

  // A write kept across a consent or step-up round trip (deps.writes), performed once after it.
  router.post(
    '/write',
    writes.form('data.write', async (ctx, fields) => {
      const user = session(ctx)?.user;
      if (!user) throw new InteractionRequiredError('signed_out');
      const text = fields.text?.trim() ?? '';
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
      await auth.withAccessToken(user, 'api', auth.scopes.apiWrite, (token) =>
        upstreams.writeData(token, text),
      );
      ctx.status = 303;
      ctx.redirect('/read');
    }),
  );

  return router;
}
