import {invalidArgument, typeOf} from './invalid-argument';

/** Datastore's limit for an indexed string, and the limit the HTTP API enforces too. */
export const MAX_IDENTIFIER_BYTES = 1500;

/**
 * Rejects identifiers that cannot name a lock unambiguously. Lone surrogates are refused because
 * UTF-8 encoding replaces them with U+FFFD, which would make distinct identifiers share one lock.
 */
export function validateIdentifier(
  identifier: unknown,
): asserts identifier is string {
  if (typeof identifier !== 'string')
    throw invalidArgument(
      `identifier must be a string, got ${typeOf(identifier)}`,
    );
  if (identifier.length === 0)
    throw invalidArgument('identifier must not be empty');
  if (!identifier.isWellFormed())
    throw invalidArgument(
      'identifier must be well-formed UTF-16 (it has a lone surrogate)',
    );
  const bytes = Buffer.byteLength(identifier, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES)
    throw invalidArgument(
      `identifier is ${bytes} bytes of UTF-8; the limit is ${MAX_IDENTIFIER_BYTES}`,
    );
}
