// Typed failures of token validation. Descriptions are safe to send to the caller: they name
// the rule that failed, never echo the token or its claims.

export type TokenRejectionReason =
  | 'malformed'
  | 'too_large'
  | 'unsupported_alg'
  | 'missing_kid'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_tenant'
  | 'unsupported_version'
  | 'id_token'
  | 'invalid_claims';

/** The token must not be accepted (RFC 6750 `invalid_token`, 401). */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  readonly reason: TokenRejectionReason;
  constructor(reason: TokenRejectionReason, description: string) {
    super(description);
    this.reason = reason;
  }
}

/** No usable signing keys (issuer unreachable and nothing cached): not the caller's fault (503). */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}
