// The "pending write": a form POST whose write needs the user first (consent to data.write, a
// step-up for an authentication context, an expired sign-in) is not lost. Its fields are kept
// in the session, bound to the form's one-time token, for the interactive round trip; when the
// user comes back, the write runs once with the same fields after the token is checked again.
//
// Use (the page routes; client-ui's write routes call exactly this):
//
//   router.post('/items/:id', deps.writes.form('item.update', async (ctx, fields) => {
//     const user = session(ctx)!.user!;               // signed in: the form token proved it
//     const text = validate(fields.text);             // read `fields`, never ctx.request.body
//     await deps.auth.withAccessToken(user, 'api', deps.auth.scopes.apiWrite, (token) =>
//       deps.upstreams.updateItem(token, ctx.params.id, text),   // ctx.params is restored too
//     );
//     ctx.redirect('/items');                         // answer as for a direct POST
//   }));
//
// - `form(name, perform, { typed })`: the POST middleware. Checks the CSRF form token (and the
//   Origin/Fetch Metadata), then `perform(ctx, fields)` with the body's text fields (`_csrf`
//   left out). When perform throws InteractionRequiredError, the write is kept (at most 3 per
//   session, 10 minutes) and the interaction middleware sends the browser to the issuer for
//   exactly what was missing. `name` is unique per route; `typed` names the fields a person
//   typed (default ['text']), shown back if the round trip does not complete (Cancel on the
//   consent page, admin approval needed) so that nothing is lost.
// - After the round trip the browser comes to GET /auth/resume/<id> (routes/auth.ts), which
//   calls `resume`: the token must still be outstanding in this session (then it is used up),
//   the user the same; perform runs again with the kept fields and ctx.params. Another
//   interaction (consent first, then a step-up) keeps it again, at most 3 round trips.
import { randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { safeReturnPath } from '../auth/return-to.ts';
import { ForbiddenFormError, InteractionRequiredError, PageError } from '../errors.ts';
import { consumeFormToken, keepFormToken, takeFormToken } from './forms.ts';
import type { SessionData } from './session.ts';

export type FormFields = Readonly<Record<string, string>>;
export type WritePerformer = (ctx: Context, fields: FormFields) => Promise<void>;

/** A write kept in the session across an interactive round trip. */
export interface KeptWrite {
  name: string;
  fields: Record<string, string>;
  params: Record<string, string>;
  /** The form token it was submitted with, outstanding again until the write runs. */
  formToken: string;
  /** The page the form was on (where a cancelled round trip returns). */
  back: string;
  /** Whose write it is (home account id). */
  user: string;
  createdAt: number;
  rounds: number;
}

const MAX_KEPT = 3;
const MAX_ROUNDS = 3;
const KEPT_MAX_AGE_MS = 10 * 60 * 1000;

const sessionOf = (ctx: Context) => ctx.session as unknown as SessionData | null;

export class PendingWrites {
  readonly #ownOrigin: string;
  readonly #writes = new Map<string, { perform: WritePerformer; typed: readonly string[] }>();

  constructor(ownOrigin: string) {
    this.#ownOrigin = ownOrigin;
  }

  /** The middleware of a form POST that writes (see the comment at the top of this file). */
  form(name: string, perform: WritePerformer, options: { typed?: string[] } = {}): Middleware {
    if (this.#writes.has(name)) throw new Error(`a write named ${name} is already registered`);
    this.#writes.set(name, { perform, typed: options.typed ?? ['text'] });
    return async (ctx) => {
      const formToken = consumeFormToken(ctx, this.#ownOrigin);
      const body = ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
      const fields: Record<string, string> = {};
      for (const [k, v] of Object.entries(body))
        if (k !== '_csrf' && typeof v === 'string') fields[k] = v;
      await this.#run(ctx, {
        name,
        fields,
        params: { ...(ctx.params as Record<string, string> | undefined) },
        formToken,
        back: this.#back(ctx),
        user: sessionOf(ctx)?.user?.homeAccountId ?? '',
        createdAt: Date.now(),
        rounds: 0,
      });
    };
  }

  /** GET /auth/resume/<id>: performs the kept write once. */
  async resume(ctx: Context, id: string): Promise<void> {
    const data = sessionOf(ctx);
    const kept = data?.pendingWrites?.[id];
    if (data?.pendingWrites) delete data.pendingWrites[id];
    const fresh = kept && Date.now() - kept.createdAt <= KEPT_MAX_AGE_MS;
    if (
      !kept ||
      !fresh ||
      kept.user !== data?.user?.homeAccountId ||
      !this.#writes.has(kept.name)
    ) {
      throw new PageError(
        409,
        'Nothing to finish',
        'This action was already done, took longer than 10 minutes, or belongs to another sign-in.',
        'Open the page again and repeat the action.',
      );
    }
    // Re-checked: the token is still this session's and unused (then it is used up).
    if (!takeFormToken(ctx, kept.formToken))
      throw new ForbiddenFormError('This form was already submitted or has expired.');
    ctx.params = { ...kept.params };
    await this.#run(ctx, { ...kept, rounds: kept.rounds + 1 });
  }

  /**
   * Forgets kept write `id` (its round trip ended without a result) and returns the text the
   * person typed in it, to show back.
   */
  discard(ctx: Context, id: string): string | undefined {
    const data = sessionOf(ctx);
    const kept = data?.pendingWrites?.[id];
    if (!kept || !data?.pendingWrites) return undefined;
    delete data.pendingWrites[id];
    takeFormToken(ctx, kept.formToken);
    const typed = this.#writes.get(kept.name)?.typed ?? [];
    const text = typed.map((f) => kept.fields[f]?.trim()).filter(Boolean);
    return text.length ? text.join(' · ').slice(0, 500) : undefined;
  }

  /** Where the person is sent back to if the round trip is cancelled. */
  back(ctx: Context, id: string): string | undefined {
    return sessionOf(ctx)?.pendingWrites?.[id]?.back;
  }

  async #run(ctx: Context, write: KeptWrite): Promise<void> {
    const entry = this.#writes.get(write.name) as { perform: WritePerformer };
    try {
      await entry.perform(ctx, write.fields);
    } catch (err) {
      const data = sessionOf(ctx);
      if (!(err instanceof InteractionRequiredError) || !data?.user) throw err;
      if (write.rounds >= MAX_ROUNDS) throw err; // kept often enough: the loop guard explains
      const id = randomBytes(16).toString('base64url');
      const now = Date.now();
      const others = Object.entries(data.pendingWrites ?? {})
        .filter(([, w]) => now - w.createdAt <= KEPT_MAX_AGE_MS)
        .slice(-(MAX_KEPT - 1));
      data.pendingWrites = Object.fromEntries([
        ...others,
        [id, { ...write, user: data.user.homeAccountId, createdAt: now }],
      ]);
      keepFormToken(ctx, write.formToken);
      err.pendingWrite = id;
      err.returnTo = write.back;
      throw err;
    }
  }

  #back(ctx: Context): string {
    const referer = ctx.get('Referer');
    if (!referer || !URL.canParse(referer)) return '/';
    const url = new URL(referer);
    return url.origin === this.#ownOrigin ? safeReturnPath(`${url.pathname}${url.search}`) : '/';
  }
}
