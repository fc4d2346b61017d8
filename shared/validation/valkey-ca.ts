import {X509Certificate} from 'node:crypto';
import type {Environment} from './env-values';
import {invalidArgument} from './invalid-argument';

export const VALKEY_CA_RULE =
  'the PEM text of one or more certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----; line breaks may be written \\n)';

const PEM_BLOCK =
  /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/**
 * LOCKS_VALKEY_CA and the `ca` option: the server CA bundle as PEM text, not a file path. The deploy
 * reads Memorystore's CA and sets it as a plain variable (a CA is public: no secret, no mounted
 * volume), and a variable is what every other setting is. A literal `\n` stands for a line break,
 * so the bundle survives one-line transports (`--update-env-vars`, .env files).
 * Returns the bundle with real line breaks, or `undefined` when it is not one.
 */
export function parseValkeyCa(value: string): string | undefined {
  const text = value.replace(/\\n/g, '\n').trim();
  const blocks = text.match(PEM_BLOCK);
  if (blocks === null || text.replace(PEM_BLOCK, '').trim() !== '')
    return undefined;
  try {
    for (const block of blocks) new X509Certificate(block);
  } catch {
    return undefined;
  }
  return `${text}\n`;
}

/** The error names the setting, never its text (a pasted secret must not end up in a log). */
export function valkeyCaOption(name: string, value: unknown): string {
  const ca = typeof value === 'string' ? parseValkeyCa(value) : undefined;
  if (ca === undefined)
    throw invalidArgument(
      `${name} must be ${VALKEY_CA_RULE} (the value is not shown)`,
    );
  return ca;
}

/** The variable's CA bundle, or `undefined` when unset or empty. */
export function envValkeyCa(
  env: Environment,
  name: string,
): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === ''
    ? undefined
    : valkeyCaOption(name, raw);
}
