// The pages: home (Graph profile), items, Me, and the addresses of earlier versions (/read,
// /write), which keep working.
import Router from '@koa/router';
import { API_DOCS_PATH } from '../views/layout.ts';
import { homeSignedIn, homeSignedOut } from '../views/pages.ts';
import { page, requireUser, session, type RouteDeps } from './common.ts';
import { createItem, itemRoutes } from './items.ts';
import { meRoutes } from './me.ts';

export { MAX_TEXT_LENGTH } from '../views/items.ts';

export function pageRoutes(deps: RouteDeps): Router {
  const { auth, upstreams } = deps;
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

  // One link for every page (error pages included) to the API docs, wherever they are served.
  router.get(API_DOCS_PATH, (ctx) => {
    ctx.redirect(deps.apiDocsUrl);
  });

  // Earlier addresses: the list was /read, the form /write (bookmarks, the tutorial's links).
  router.get('/read', (ctx) => {
    if (!requireUser(ctx)) return;
    ctx.redirect('/items');
  });
  router.get('/write', (ctx) => {
    if (!requireUser(ctx)) return;
    ctx.redirect('/items/new');
  });
  router.post('/write', ...createItem(deps, 'write'));

  for (const routes of [itemRoutes(deps), meRoutes(deps)]) router.use(routes.routes());
  return router;
}
