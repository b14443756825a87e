// The real fake issuer in-process (port 0) and verifier options pointing at it.
import { DEFAULTS, FakeEntra } from '@koa-entra/fake-entra';
import type { EntraVerifierOptions } from '@koa-entra/bearer';

export { DEFAULTS, FakeEntra };

export const API_ID = DEFAULTS.apiClientId;
export const TENANT = DEFAULTS.tenantId;
export const ALICE = DEFAULTS.users.alice.upn;
export const BOB = DEFAULTS.users.bob.upn;
export const AUDIENCES = [API_ID, `api://${API_ID}`];
export const OTHER_TENANT = '11111111-2222-4333-8444-555555555555';

/** What an API next to the fake issuer would configure. */
export function entraOptions(
  fake: FakeEntra,
  overrides: Partial<EntraVerifierOptions> = {},
): EntraVerifierOptions {
  return { authority: fake.baseUrl, tenantId: TENANT, audience: AUDIENCES, ...overrides };
}

/** A settable clock for the verifier (it also drives the key cache's timings). */
export function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
