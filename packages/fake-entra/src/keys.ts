// The issuer's RSA signing keys. Several are published at once (as Entra does); one signs, and
// the next one is published before it signs (key roll-over).
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

/**
 * The published keys and which one signs. As Entra: several keys are published at once, and a
 * periodic roll-over signs with a key that has been published for a while (the "next" key),
 * so that clients caching the JWKS already know it; an emergency roll-over signs at once with
 * a key nobody has seen. A rolled-over key stays published until it is retired.
 */
export class KeyStore {
  #published: SigningKey[];
  #signing: SigningKey;
  #next: SigningKey | undefined;

  private constructor(signing: SigningKey, next: SigningKey, older: SigningKey[]) {
    this.#published = [signing, next, ...older];
    this.#signing = signing;
    this.#next = next;
  }

  /** A signing key, the next key, and `older` rolled-over keys, all published. */
  static async create(older = 1): Promise<KeyStore> {
    const [signing, next, ...rest] = await Promise.all(
      Array.from({ length: 2 + older }, () => createSigningKey()),
    );
    return new KeyStore(signing!, next!, rest);
  }

  get signing(): SigningKey {
    return this.#signing;
  }

  /** The key the next periodic roll-over signs with (published already), if any. */
  get next(): SigningKey | undefined {
    return this.#next;
  }

  find(kid: string): SigningKey | undefined {
    return this.#published.find((k) => k.kid === kid);
  }

  /**
   * Rolls the signing key over and returns the new signing kid. Periodic (default): the
   * published next key signs, and a new next key is published. Emergency: a key never
   * published before signs at once (and is published now). The old signing key stays published.
   */
  async rotate(options: { emergency?: boolean } = {}): Promise<string> {
    if (options.emergency || !this.#next) {
      const key = await createSigningKey();
      this.#published = [key, ...this.#published];
      this.#signing = key;
      return key.kid;
    }
    this.#signing = this.#next;
    const next = await createSigningKey();
    this.#published = [...this.#published, next];
    this.#next = next;
    return this.#signing.kid;
  }

  /** Removes a key from the JWKS. The current signing key cannot be retired (rotate first). */
  retire(kid: string): void {
    if (kid === this.#signing.kid)
      throw new Error(`key ${kid} is the current signing key; rotateSigningKey() first`);
    if (!this.find(kid)) throw new Error(`no published key with kid ${kid}`);
    this.#published = this.#published.filter((k) => k.kid !== kid);
    if (this.#next?.kid === kid) this.#next = undefined;
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
