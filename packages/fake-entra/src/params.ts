// Reads OAuth parameters from a query or a form body: every value must be a single string.
import type { Context } from 'koa';
import { errors } from './errors.ts';

export type Params = Record<string, string | undefined>;

export function readParams(source: unknown): Params {
  if (source === undefined || source === null) return {};
  if (typeof source !== 'object' || Array.isArray(source))
    throw errors.malformed('The parameters must be name=value pairs.');
  const out: Params = {};
  for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
    if (typeof value !== 'string')
      throw errors.malformed(`The parameter '${key}' must be given exactly once, as a string.`);
    out[key] = value;
  }
  return out;
}

/** Form parameters of a POST; Entra accepts only application/x-www-form-urlencoded. */
export function formParams(ctx: Context): Params {
  if (!ctx.request.is('application/x-www-form-urlencoded')) {
    throw errors.malformed("The request body must be 'application/x-www-form-urlencoded'.");
  }
  return readParams((ctx.request as unknown as { body?: unknown }).body);
}

export function required(p: Params, name: string, where?: string): string {
  const value = p[name];
  if (value === undefined || value === '') throw errors.missingParameter(name, where);
  return value;
}
