// Only for routes/health.ts, which the service-kit work is rewriting: token validation lives
// in @koa-entra/bearer now. Delete this file once health.ts imports the type from there.
export type { SigningKeys } from '@koa-entra/bearer';
