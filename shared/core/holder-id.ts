import {createHash} from 'node:crypto';

/**
 * A short, non-reversible id of one grant, for logs, tools and correlation. The token is the
 * holder's capability to release, so it is never shown; this id is the first 64 bits of the
 * token's SHA-256, which names the grant without revealing the token (tokens are random UUIDs).
 */
export function holderIdOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}
