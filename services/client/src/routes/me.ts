// The Me page: who the user is (Graph profile, ID token claims) and, per resource, what the
// access tokens the app holds allow and until when. Tokens are decoded for display, never shown.
import Router from '@koa/router';
import { mePage, type ResourceView } from '../views/me.ts';
import { readToken, summarize, writeAccess } from './access.ts';
import { page, requireUser, type RouteDeps } from './common.ts';

export function meRoutes(deps: RouteDeps): Router {
  const router = new Router();

  router.get('/me', async (ctx) => {
    const user = requireUser(ctx);
    if (!user) return;
    const profile = await deps.auth.withAccessToken(user, 'graph', deps.auth.scopes.graph, (t) =>
      deps.upstreams.profile(t),
    );
    // The token the profile was read with (from the cache now): its claims, never itself.
    const graph = await deps.auth.accessToken(user, 'graph', deps.auth.scopes.graph);
    const read = await readToken(deps, user);
    const { access, token: write } = await writeAccess(deps, user, ctx.originalUrl);
    const apiTokens =
      write && write.accessToken === read.accessToken
        ? [summarize('reading and writing items', read)]
        : [summarize('reading items', read), ...(write ? [summarize('writing items', write)] : [])];
    const resources: ResourceView[] = [
      { name: 'Microsoft Graph', tokens: [summarize('your profile', graph)] },
      {
        name: 'The API',
        tokens: apiTokens,
        missing: access.state === 'granted' ? undefined : access,
      },
    ];
    page(
      ctx,
      'Me',
      mePage({
        profile,
        idTokenClaims: (graph.idTokenClaims ?? {}) as Record<string, unknown>,
        resources,
        apiDocsUrl: deps.apiDocsUrl,
      }),
    );
  });

  return router;
}
