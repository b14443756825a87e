// Reading a request body as a JSON object, the same way on every write route: limits first
// (declared and streamed size, nesting depth), then the type, with a specific error for each.
import { bodyParser } from '@koa/bodyparser';
import { assertNoBodyToken } from '@koa-entra/bearer';
import type { Context } from 'koa';
import { REALM } from '../token-verifier.ts';
import { HttpError, invalidRequest, isBodyDecodingError } from './errors.ts';

/** JSON.parse accepts any depth, JSON.stringify (store, response) only a few thousand levels. */
export const MAX_DEPTH = 64;

/** RFC 7396 JSON Merge Patch, accepted by PATCH next to application/json. */
export const MERGE_PATCH = 'application/merge-patch+json';

export type JsonObject = Record<string, unknown>;

export function jsonBodyReader(maxBodyBytes: number) {
  const parse = bodyParser({
    enableTypes: ['json', 'form'],
    // lodash-merged into the defaults by index: list application/json first to keep it.
    extendTypes: { json: ['application/json', MERGE_PATCH] },
    jsonLimit: maxBodyBytes,
    formLimit: maxBodyBytes,
    jsonStrict: true,
  });

  /**
   * The body as a JSON object. `empty` is what a request without a body stands for (the
   * tutorial's web app POSTs /data/write with none); without it such a request is refused.
   */
  return async function readJsonObject(
    ctx: Context,
    options: { empty?: JsonObject; types?: string[] } = {},
  ): Promise<JsonObject> {
    const declared = Number(ctx.get('content-length'));
    if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes);
    // No body: neither Transfer-Encoding nor a Content-Length above 0 (fetch and axios send
    // `Content-Length: 0` for a POST without data).
    if (ctx.get('transfer-encoding') === '' && !(declared > 0)) {
      if (options.empty) return { ...options.empty };
      throw invalidRequest('The request has no body: a JSON object is expected');
    }
    try {
      await parse(ctx, async () => undefined);
    } catch (error) {
      const e = error as { status?: number };
      if (e.status === 413) throw tooLarge(maxBodyBytes);
      // A corrupt or unknown Content-Encoding goes to the error mapper as raised (400 / 415, W2).
      if (isBodyDecodingError(error) || e.status === 415) throw error;
      if (e.status === 400)
        throw invalidRequest('The request body is not valid JSON (an object is expected)');
      throw error;
    }
    // Parsed after authentication, so the body's token check is ours (RFC 6750 §2.2).
    assertNoBodyToken(ctx.request.body, { realm: REALM });
    const types = options.types ?? ['application/json'];
    if (!ctx.is(types)) {
      throw new HttpError(
        415,
        'unsupported_media_type',
        `The request body must be a JSON object sent as ${types.join(' or ')}`,
      );
    }
    const data = ctx.request.body;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw invalidRequest('The request body must be a JSON object');
    }
    if (depthExceeds(data, MAX_DEPTH)) {
      throw invalidRequest(`The request body is nested deeper than ${MAX_DEPTH} levels`);
    }
    return data as JsonObject;
  };
}

export const tooLarge = (limit: number, what = 'The request body') =>
  new HttpError(413, 'request_too_large', `${what} is larger than ${limit} bytes`);

/** Whether `value` nests objects/arrays deeper than `max` levels (iterative: no recursion on hostile input). */
function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** RFC 7396 §2: objects merge member by member, null removes a member, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: JsonObject =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as JsonObject) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    // defineProperty, not assignment: a "__proto__" member stays a member.
    else
      Object.defineProperty(result, key, {
        value: mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return result;
}
