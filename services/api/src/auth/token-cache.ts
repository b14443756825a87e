// Verified tokens by their whole text, so that a caller reusing its token skips the signature
// check. Time claims are re-checked on every hit; the oldest entry goes when the cache is full.

interface Entry<T> {
  value: T;
  exp: number;
  nbf: number | undefined;
}

export class VerifiedTokenCache<T> {
  readonly #max: number;
  readonly #toleranceMs: number;
  readonly #entries = new Map<string, Entry<T>>();

  constructor(maxEntries: number, clockToleranceSeconds: number) {
    this.#max = maxEntries;
    this.#toleranceMs = clockToleranceSeconds * 1000;
  }

  get enabled(): boolean {
    return this.#max > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(token: string, now: number): T | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (entry.exp * 1000 + this.#toleranceMs <= now || (entry.nbf !== undefined && entry.nbf * 1000 - this.#toleranceMs > now)) {
      // Let the full check produce the precise rejection.
      this.#entries.delete(token);
      return undefined;
    }
    return entry.value;
  }

  set(token: string, value: T, exp: number, nbf: number | undefined): void {
    if (this.#max === 0) return;
    if (this.#entries.size >= this.#max && !this.#entries.has(token)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { value, exp, nbf });
  }

  clear(): void {
    this.#entries.clear();
  }
}
