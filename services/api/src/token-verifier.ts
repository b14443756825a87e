// The API's token verifier (@koa-entra/bearer) built from its config, and the one place where
// the verifier's events reach this service's metrics and logs.
import {
  createEntraVerifier,
  createOidcVerifier,
  type TokenVerifier,
  type VerifierHooks,
  type VerifierOptions,
} from '@koa-entra/bearer';
import type { Logger } from 'pino';
import type { ApiConfig } from './config.ts';
import type { Metrics } from './http/metrics.ts';

/** The realm of the API's challenges (`WWW-Authenticate: Bearer realm="api"`). */
export const REALM = 'api';

export function createTokenVerifier(
  config: ApiConfig,
  telemetry: { metrics: Metrics; logger: Logger },
): TokenVerifier {
  const options: VerifierOptions = {
    audience: [config.apiClientId, `api://${config.apiClientId}`],
    clockToleranceSeconds: config.clockToleranceSeconds,
    cacheMaxEntries: config.tokenCacheMaxEntries,
    maxTokenLength: config.maxTokenBytes,
    jwks: {
      refreshSeconds: config.jwksRefreshSeconds,
      cooldownSeconds: config.jwksCooldownSeconds,
      failureBackoffSeconds: config.jwksFailureBackoffSeconds,
      staleMaxSeconds: config.jwksStaleMaxSeconds,
      fetchTimeoutMs: config.jwksFetchTimeoutMs,
    },
    realm: REALM,
    hooks: verifierHooks(telemetry, config),
  };
  return config.oidcIssuer === undefined
    ? createEntraVerifier({
        ...options,
        authority: config.authority,
        tenantId: config.tenantId,
        allowedTenants: config.allowedTenants,
        acceptedVersions: config.acceptedTokenVersions,
      })
    : createOidcVerifier({ ...options, issuer: config.oidcIssuer });
}

/** Verifier events -> api_* counters and log lines (metric names are this file's concern only). */
function verifierHooks(
  { metrics, logger }: { metrics: Metrics; logger: Logger },
  config: ApiConfig,
): VerifierHooks {
  return {
    cacheHit: () => metrics.tokenCacheHits.inc(),
    tokenRejected: (error) => {
      metrics.tokenRejections.inc({ reason: error.reason });
      // A version mismatch is a registration/configuration mismatch, not a bad client: say so.
      if (error.reason === 'unsupported_version')
        logger.warn(
          {
            reason: error.reason,
            detail: error.message,
            acceptedVersions: config.acceptedTokenVersions,
            hint: config.acceptedTokenVersions.includes('2.0')
              ? "set accessTokenAcceptedVersion to 2 in the API registration's manifest, or accept 1.0 with ACCEPTED_TOKEN_VERSIONS"
              : 'add 2.0 to ACCEPTED_TOKEN_VERSIONS, or set accessTokenAcceptedVersion to null/1 in the manifest',
          },
          'access token version mismatch',
        );
    },
    keysUnavailable: (error) => {
      metrics.keysUnavailable.inc();
      logger.warn(
        {
          reason: error.reason,
          detail: error.message,
          cause: error.cause instanceof Error ? error.cause.message : undefined,
          retryAfterSeconds: error.retryAfterSeconds,
        },
        'token issuer unreachable: no signing key to verify the token',
      );
    },
    issuerFetch: ({ target, ok }) =>
      metrics.issuerFetches.inc({ target, result: ok ? 'ok' : 'failed' }),
    keysRefreshFailed: (error) => logger.warn({ reason: error.message }, 'issuer key fetch failed'),
    keysRetired: (kids) =>
      logger.info({ kids }, 'signing keys retired by the issuer; verified-token cache emptied'),
  };
}
