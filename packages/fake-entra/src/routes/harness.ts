// Health check, and the test harness over HTTP (registered only when explicitly enabled):
// minting, recorded requests, queued one-shot answers and issuer sessions without the page, for
// tests in other languages or processes. The same features as the in-process API; JSON has no `undefined`, so a `null`
// removes a claim or field.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { SESSION_COOKIE, type Harness } from '../context.ts';
import { errors } from '../errors.ts';
import type { Edits } from '../hooks.ts';
import { ENDPOINTS, type Endpoint, type RequestFilter } from '../recorder.ts';
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
  version: z.union([z.literal(1), z.literal(2)]).optional(),
  lifetimeSeconds: z.number().int().positive().optional(),
  /** A JSON null removes a claim (JSON has no undefined). */
  claims: nullableRecord,
  header: nullableRecord,
  tenant: z.string().optional(),
});

const endpoint = z.enum(ENDPOINTS as [Endpoint, ...Endpoint[]]);

const Filter = z.strictObject({
  endpoint: endpoint.optional(),
  method: z.string().optional(),
  clientId: z.string().optional(),
  grantType: z.string().optional(),
  tenant: z.string().optional(),
});

const TakeRequest = Filter.extend({
  timeoutMs: z.number().int().min(0).max(30_000).default(2000),
});

const TokenHook = z.strictObject({
  clientId: z.string().optional(),
  grantType: z.string().optional(),
  resource: z.string().optional(),
  user: z.string().optional(),
  accessTokenClaims: nullableRecord,
  idTokenClaims: nullableRecord,
  response: nullableRecord,
});

const GraphHook = z.strictObject({
  user: z.string().optional(),
  clientId: z.string().optional(),
  profile: z.record(z.string(), z.unknown()),
});

const ErrorHook = z.strictObject({
  endpoint: endpoint.exclude(['unknown']),
  clientId: z.string().optional(),
  grantType: z.string().optional(),
  status: z.number().int().optional(),
  error: z.string(),
  code: z.number().int().optional(),
  description: z.string().optional(),
  suberror: z.string().optional(),
  claims: z.string().optional(),
});

const OpenSession = z.strictObject({
  upn: z.string().min(1),
  /** An issuer session cookie to add the account to (`fake_entra_session=…` or its value). */
  cookie: z.string().optional(),
});

export interface OpenedSession {
  /** `fake_entra_session=…`: the Cookie header value to send to authorize and logout. */
  cookie: string;
  name: string;
  value: string;
  /** The account's session id (the `sid` of its ID tokens, front-channel logout's `sid`). */
  sid: string;
  upn: string;
}

/**
 * Harness: signs `upn` in to an issuer session without the page (a new session, or the one
 * `cookie` names), as the sign-in page would. Throws naming an unknown user.
 */
export function openIssuerSession(h: Harness, upn: string, cookie?: string): OpenedSession {
  const user = h.directory.user(upn);
  if (!user) throw new TypeError(`openSession: no configured user "${upn}"`);
  const existing = cookie?.startsWith(`${SESSION_COOKIE}=`)
    ? cookie.slice(SESSION_COOKIE.length + 1).split(';')[0]
    : cookie;
  const { cookie: value, account } = h.sessions.signIn(
    existing,
    user.oid,
    h.directory.userTenant(user),
  );
  return {
    cookie: `${SESSION_COOKIE}=${value}`,
    name: SESSION_COOKIE,
    value,
    sid: account.sid,
    upn: user.upn,
  };
}

const nullToUndefined = (r: Record<string, unknown> | undefined): Edits | undefined =>
  r && Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? undefined : v]));

/** The JSON body of a harness request, validated; a bad one is a 400 naming the field. */
function body<T extends z.ZodType>(ctx: Context, schema: T): z.output<T> {
  if (!ctx.request.is('application/json'))
    throw errors.malformed("The request body must be 'application/json'.");
  const parsed = schema.safeParse((ctx.request as unknown as { body?: unknown }).body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw errors.malformed(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Runs a harness operation, turning its argument errors into 400s. */
function attempt<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw errors.malformed((error as Error).message);
  }
}

/** JSON cannot show `undefined` (a field to remove): it is listed as null. */
const showRemovals = (value: unknown) =>
  JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v === undefined ? null : v))) as unknown;

export function registerHarness(router: Router, h: Harness): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  if (!h.enableHarness) return;

  router.post('/_harness/tokens', async (ctx) => {
    const { kind, ...rest } = body(ctx, MintRequest);
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

  router.get('/_harness/requests', (ctx) => {
    const query = Object.fromEntries(new URLSearchParams(ctx.querystring));
    const parsed = Filter.safeParse(query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw errors.malformed(`${issue.path.join('.') || 'query'}: ${issue.message}`);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { requests: h.recorder.list(parsed.data as RequestFilter) };
  });

  router.post('/_harness/requests/take', async (ctx) => {
    const { timeoutMs, ...filter } = body(ctx, TakeRequest);
    const request = await h.recorder.take(filter as RequestFilter, timeoutMs);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { request: request ?? null };
  });

  router.delete('/_harness/requests', (ctx) => {
    h.recorder.clear();
    ctx.status = 204;
  });

  router.post('/_harness/hooks/token', (ctx) => {
    const hook = body(ctx, TokenHook);
    attempt(() =>
      h.hooks.enqueueToken({
        ...hook,
        accessTokenClaims: nullToUndefined(hook.accessTokenClaims),
        idTokenClaims: nullToUndefined(hook.idTokenClaims),
        response: nullToUndefined(hook.response),
      }),
    );
    ctx.status = 204;
  });

  router.post('/_harness/hooks/graph', (ctx) => {
    const hook = body(ctx, GraphHook);
    attempt(() => h.hooks.enqueueGraph({ ...hook, profile: nullToUndefined(hook.profile)! }));
    ctx.status = 204;
  });

  router.post('/_harness/hooks/error', (ctx) => {
    const hook = body(ctx, ErrorHook);
    attempt(() => h.hooks.enqueueError(hook));
    ctx.status = 204;
  });

  router.post('/_harness/sessions', (ctx) => {
    const { upn, cookie } = body(ctx, OpenSession);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 201;
    ctx.body = attempt(() => openIssuerSession(h, upn, cookie));
  });

  router.get('/_harness/hooks', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { pending: showRemovals(h.hooks.pending()) };
  });

  router.delete('/_harness/hooks', (ctx) => {
    h.hooks.clear();
    ctx.status = 204;
  });
}
