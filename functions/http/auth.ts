import {createHash, timingSafeEqual} from 'node:crypto';

/**
 * The header that carries LOCKS_API_TOKEN. A header of its own, because `Authorization` is taken
 * whenever Google's front end authenticates the caller: Cloud Scheduler's OIDC token, or any IAM
 * caller's identity token, travels there.
 */
export const API_TOKEN_HEADER = 'X-Locks-Api-Token';

/**
 * Whether a request presents the API token: in `X-Locks-Api-Token`, or as `Authorization: Bearer
 * <token>` (for callers of a deployment that allows unauthenticated calls, where `Authorization`
 * is free). Either one matching is enough.
 */
export function apiTokenPresented(
  headers: {get(name: string): string | undefined},
  expected: string,
): boolean {
  // Both are checked, so the time taken does not tell which header was tried.
  const inOwnHeader = tokenMatches(
    headers.get(API_TOKEN_HEADER) ?? '',
    expected,
  );
  const asBearer = bearerTokenMatches(headers.get('authorization'), expected);
  return inOwnHeader || asBearer;
}

/** Checks `Authorization: Bearer <token>` against the configured token in constant time. */
export function bearerTokenMatches(
  authorization: string | undefined,
  expected: string,
): boolean {
  return tokenMatches(
    /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '',
    expected,
  );
}

/**
 * Both sides are hashed first, so neither the comparison nor an early length mismatch reveals how
 * much of a guess was right.
 */
function tokenMatches(presented: string, expected: string): boolean {
  const digest = (value: string) =>
    createHash('sha256').update(value, 'utf8').digest();
  return (
    timingSafeEqual(digest(presented), digest(expected)) && presented.length > 0
  );
}
