import {createHash} from 'node:crypto';

/**
 * Where one lock lives: its lock key, its fence counter and its release channel share one hash
 * tag (`{lk:<hash>}`), so each script touches one slot and runs with cluster mode enabled too.
 * The tag holds the SHA-256 of the identifier: identifiers are free text, and a `}` in one would
 * end the tag early.
 */
export interface LockKeys {
  readonly lock: string;
  readonly fence: string;
  readonly channel: string;
}

export function lockKeys(prefix: string, identifier: string): LockKeys {
  const tag = `{lk:${createHash('sha256').update(identifier, 'utf8').digest('hex')}}`;
  return {
    lock: `${prefix}${tag}`,
    fence: `${prefix}${tag}:fence`,
    channel: `${prefix}${tag}:released`,
  };
}

/** A SCAN pattern matching every lock key under `prefix`, and no fence counter. */
export function lockKeyPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, char => `\\${char}`)}{lk:*}`;
}
