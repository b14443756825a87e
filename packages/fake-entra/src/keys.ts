// The issuer's RSA signing keys. Several are published at once (as Entra does); one signs.
// Rotation adds a new signing key and keeps the old one published until it is retired.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { rsaKeyPair, selfSignedDer } from './tls.ts';

export interface SigningKey {
  kid: string;
  x5t: string;
  x5c: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
}

export interface PublishedJwk {
  kty: 'RSA';
  use: 'sig';
  kid: string;
  x5t: string;
  n: string;
  e: string;
  x5c: string[];
  issuer: string;
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKeyPem, publicKeyPem } = await rsaKeyPair();
  const der = selfSignedDer(privateKeyPem, publicKeyPem, 'accounts.fake-entra.test');
  // Entra's kid is the certificate's SHA-1 thumbprint (x5t), base64url.
  const x5t = createHash('sha1').update(der).digest('base64url');
  return {
    kid: x5t,
    x5t,
    x5c: der.toString('base64'),
    privateKey: createPrivateKey(privateKeyPem),
    publicKey: createPublicKey(publicKeyPem),
    publicKeyPem,
  };
}

export class KeyStore {
  #published: SigningKey[];
  #signing: SigningKey;

  private constructor(keys: SigningKey[]) {
    if (!keys[0]) throw new Error('KeyStore needs at least one key');
    this.#published = keys;
    this.#signing = keys[0];
  }

  /** `count` published keys; the first one signs. */
  static async create(count = 2): Promise<KeyStore> {
    return new KeyStore(await Promise.all(Array.from({ length: count }, () => createSigningKey())));
  }

  get signing(): SigningKey {
    return this.#signing;
  }

  find(kid: string): SigningKey | undefined {
    return this.#published.find((k) => k.kid === kid);
  }

  /** Makes a new key the signing key; the previous one stays published. Returns the new kid. */
  async rotate(): Promise<string> {
    const key = await createSigningKey();
    this.#published = [key, ...this.#published];
    this.#signing = key;
    return key.kid;
  }

  /** Removes a key from the JWKS. The current signing key cannot be retired (rotate first). */
  retire(kid: string): void {
    if (kid === this.#signing.kid)
      throw new Error(`key ${kid} is the current signing key; rotateSigningKey() first`);
    if (!this.find(kid)) throw new Error(`no published key with kid ${kid}`);
    this.#published = this.#published.filter((k) => k.kid !== kid);
  }

  jwks(issuer: string): { keys: PublishedJwk[] } {
    return {
      keys: this.#published.map((k) => {
        const jwk = k.publicKey.export({ format: 'jwk' });
        return {
          kty: 'RSA',
          use: 'sig',
          kid: k.kid,
          x5t: k.x5t,
          n: String(jwk.n),
          e: String(jwk.e),
          x5c: [k.x5c],
          issuer,
        };
      }),
    };
  }
}
