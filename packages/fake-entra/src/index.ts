// Public API of the fake Entra ID issuer (see README.md).
export { DEFAULTS, type DefaultIdentities, type DefaultUser } from './defaults.ts';
export { DEFAULT_CA_DIR, DNS_MODE_HOSTS, FakeEntra, type FakeEntraOptions } from './server.ts';
export { APPROVE_BUTTON } from './second-factor.ts';
export {
  ConfigError,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  parseConfig,
  type FakeEntraConfig,
  ACCESS_TOKEN_OPTIONAL_CLAIMS,
} from './config.ts';
export { GRAPH_APP_ID, GRAPH_RESOURCE } from './directory.ts';
export {
  BROKEN_TOKEN_KINDS,
  type BrokenTokenKind,
  type MintOptions,
  type Lifetimes,
  DEFAULT_LIFETIMES,
  GROUPS_OVERAGE_LIMIT,
} from './tokens.ts';
export { ENDPOINTS, type Endpoint, type RecordedRequest, type RequestFilter } from './recorder.ts';
export type { Edits, GraphCallback, PendingHook, QueuedError, TokenCallback } from './hooks.ts';
export type { SignInOptions, SignInResult } from './sign-in.ts';
export type { OpenedSession } from './routes/harness.ts';
export { SIGN_IN_AUDIENCES, type SignInAudience } from './config.ts';
export {
  ensureCertificateAuthority,
  issueServerCertificate,
  type CertificateAuthority,
} from './tls.ts';
