// Public API of the fake Entra ID issuer (see README.md).
export { DEFAULTS } from './defaults.ts';
export { FakeEntra, defaultCaDir, type FakeEntraOptions } from './server.ts';
export {
  ConfigError,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  parseConfig,
  type FakeEntraConfig,
} from './config.ts';
export {
  BROKEN_TOKEN_KINDS,
  type BrokenTokenKind,
  type MintOptions,
  type Lifetimes,
} from './tokens.ts';
export {
  ensureCertificateAuthority,
  issueServerCertificate,
  type CertificateAuthority,
} from './tls.ts';
