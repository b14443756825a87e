export { InvalidTokenError, KeysUnavailableError, type TokenRejectionReason } from './errors.ts';
export { SigningKeys, type SigningKeysOptions, type KeyStatus } from './signing-keys.ts';
export {
  TokenValidator,
  MAX_TOKEN_LENGTH,
  type IssuerRules,
  type TokenValidatorOptions,
} from './token-validator.ts';
export { VerifiedTokenCache } from './token-cache.ts';
export {
  isGranted,
  missingPermission,
  READ,
  WRITE,
  type Principal,
  type Requirement,
} from './permissions.ts';
