// Front-channel logout needs to find a session without its cookie: the issuer's sign-out page
// loads the app's front-channel logout URL in a cross-site frame, where the SameSite=Lax session
// cookie is not sent, with only `?sid=` (Entra sends no `iss`). So sign-in records, per issuer
// session id (the ID token's `sid`), which app sessions it opened: `sid:<sid>` → the session ids
// and the account whose token cache they use, for as long as a session may live.
import type { KeyValueStore } from '../store/store.ts';
import { tokenCacheKey } from './msal-token-cache.ts';

/** At most this many app sessions per issuer session (a browser re-signing in opens new ones). */
const MAX_SESSIONS_PER_SID = 10;
/** What an issuer session id may look like (Entra: a GUID); anything else is ignored. */
export const SID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

interface IndexEntry {
  session: string;
  homeAccountId: string;
}

const indexKey = (sid: string) => `sid:${sid}`;

export class SessionIndex {
  readonly #store: KeyValueStore;
  readonly #ttlSeconds: number;
  readonly #sessionKey: (id: string) => string;

  constructor(store: KeyValueStore, ttlSeconds: number, sessionKey: (id: string) => string) {
    this.#store = store;
    this.#ttlSeconds = ttlSeconds;
    this.#sessionKey = sessionKey;
  }

  /** Records that app session `session` of `homeAccountId` belongs to issuer session `sid`. */
  async add(sid: string, session: string, homeAccountId: string): Promise<void> {
    if (!SID_PATTERN.test(sid)) return;
    const entries = await this.#entries(sid);
    const kept = entries.filter((e) => e.session !== session).slice(-(MAX_SESSIONS_PER_SID - 1));
    kept.push({ session, homeAccountId });
    await this.#store.set(indexKey(sid), JSON.stringify(kept), this.#ttlSeconds);
  }

  /**
   * Front-channel logout: ends every app session of issuer session `sid` and the token caches
   * they used (as sign-out does). Idempotent; an unknown sid does nothing. Returns how many.
   */
  async endSessions(sid: string): Promise<number> {
    if (!SID_PATTERN.test(sid)) return 0;
    const entries = await this.#entries(sid);
    await this.#store.delete(indexKey(sid));
    await Promise.all(
      entries.flatMap((e) => [
        this.#store.delete(this.#sessionKey(e.session)),
        this.#store.delete(tokenCacheKey(e.homeAccountId)),
      ]),
    );
    return entries.length;
  }

  async #entries(sid: string): Promise<IndexEntry[]> {
    const raw = await this.#store.get(indexKey(sid));
    if (!raw) return [];
    try {
      const parsed = JSON.parse(raw) as unknown;
      return Array.isArray(parsed)
        ? parsed.filter(
            (e): e is IndexEntry =>
              typeof e?.session === 'string' && typeof e?.homeAccountId === 'string',
          )
        : [];
    } catch {
      return [];
    }
  }
}
