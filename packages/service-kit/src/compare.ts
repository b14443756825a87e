// One constant-time comparison of secrets (CSRF form tokens, OAuth state): both sides are hashed
// first, so neither the contents nor the length of the expected value leak through timing.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Whether `a` and `b` are the same string, in time that depends on neither. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
