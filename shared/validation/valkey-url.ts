import {invalidArgument} from './invalid-argument';

export const VALKEY_URL_RULE =
  'redis://[USER:PASSWORD@]HOST[:PORT][/DB] or rediss://... (TLS)';

/**
 * LOCKS_VALKEY_URL and the `valkey` option's URL: `redis://` or `rediss://` (TLS), a host, an
 * optional port and database number, and optional credentials (give the whole URL from a secret
 * when it carries a password).
 */
export function isValkeyUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'redis:' || url.protocol === 'rediss:') &&
    url.hostname !== '' &&
    /^(\/\d{0,5})?$/.test(url.pathname) &&
    url.search === '' &&
    url.hash === ''
  );
}

export function valkeyUrlOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !isValkeyUrl(value))
    throw invalidArgument(`${name} must be ${VALKEY_URL_RULE}`);
  return value;
}
