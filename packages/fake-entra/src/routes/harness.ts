// Health check, and the test-only minting endpoint (registered only when explicitly enabled).
import type Router from '@koa/router';
import { z } from 'zod';
import type { Harness } from '../context.ts';
import { errors } from '../errors.ts';
import { BROKEN_TOKEN_KINDS, type BrokenTokenKind, type MintOptions } from '../tokens.ts';

const nullableRecord = z.record(z.string(), z.unknown()).optional();

const MintRequest = z.strictObject({
  kind: z.enum(['access', ...BROKEN_TOKEN_KINDS] as [string, ...string[]]).default('access'),
  user: z.string().optional(),
  clientId: z.string().optional(),
  audience: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  roles: z.array(z.string()).optional(),
  app: z.boolean().optional(),
  lifetimeSeconds: z.number().int().positive().optional(),
  /** A JSON null removes a claim (JSON has no undefined). */
  claims: nullableRecord,
  header: nullableRecord,
  tenant: z.string().optional(),
});

const nullToUndefined = (r: Record<string, unknown> | undefined) =>
  r && Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? undefined : v]));

export function registerHarness(router: Router, h: Harness): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  if (!h.enableMinting) return;
  router.post('/_harness/tokens', async (ctx) => {
    if (!ctx.request.is('application/json'))
      throw errors.malformed("The request body must be 'application/json'.");
    const parsed = MintRequest.safeParse((ctx.request as unknown as { body?: unknown }).body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw errors.malformed(`${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const { kind, ...rest } = parsed.data;
    const options: MintOptions = {
      ...rest,
      claims: nullToUndefined(rest.claims),
      header: nullToUndefined(rest.header),
    };
    let token: string;
    try {
      token =
        kind === 'access'
          ? h.tokens.mintAccessToken(options)
          : await h.tokens.mintBrokenToken(kind as BrokenTokenKind, options);
    } catch (error) {
      throw errors.malformed((error as Error).message);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { token_type: 'Bearer', access_token: token };
  });
}
