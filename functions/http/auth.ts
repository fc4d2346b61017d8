import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` against the configured token in constant time: both sides
 * are hashed first, so neither the comparison nor an early length mismatch reveals how much of a
 * guess was right.
 */
export function bearerTokenMatches(authorization: string | undefined, expected: string): boolean {
  const presented = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected)) && presented.length > 0;
}
