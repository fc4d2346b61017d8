import type {Environment} from './env-values';
import {invalidArgument} from './invalid-argument';

/**
 * How the client the library builds authenticates: `password` sends what the URL carries (if
 * anything); `iam` sends an OAuth access token of the runtime's own account as the password
 * (Memorystore for Valkey's IAM authentication), fetched and refreshed by the library.
 */
export const VALKEY_AUTH_MODES = ['password', 'iam'] as const;
export type ValkeyAuthMode = (typeof VALKEY_AUTH_MODES)[number];

export function valkeyAuthOption(name: string, value: unknown): ValkeyAuthMode {
  if (!(VALKEY_AUTH_MODES as readonly unknown[]).includes(value))
    throw invalidArgument(
      `${name} must be one of ${VALKEY_AUTH_MODES.join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : typeof value}`,
    );
  return value as ValkeyAuthMode;
}

/** The variable's mode; unset or empty is `password`. */
export function envValkeyAuth(env: Environment, name: string): ValkeyAuthMode {
  const raw = env[name];
  return raw === undefined || raw === ''
    ? 'password'
    : valkeyAuthOption(name, raw);
}
