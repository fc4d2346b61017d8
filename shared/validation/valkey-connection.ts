import {invalidArgument} from './invalid-argument';
import type {ValkeyAuthMode} from './valkey-auth';

/** What the client the library builds needs besides its URL, checked against the URL. */
export interface ValkeyConnectionSettings {
  readonly url: string;
  /** The server CA bundle (PEM), for a `rediss://` URL. Absent: the system's CAs. */
  readonly ca?: string;
  readonly auth: ValkeyAuthMode;
}

/**
 * A CA only means something over TLS, and IAM's token replaces the URL's password: a CA with
 * `redis://`, or a password in the URL with IAM auth, is a mistake that would otherwise be silent
 * (plain text sent despite a CA; a password ignored). Names are the settings' own, for the message.
 */
export function valkeyConnection(
  url: string,
  ca: string | undefined,
  auth: ValkeyAuthMode,
  names: {url: string; ca: string; auth: string},
): ValkeyConnectionSettings {
  const parsed = new URL(url);
  if (ca !== undefined && parsed.protocol !== 'rediss:')
    throw invalidArgument(
      `${names.ca} is the server CA of a TLS connection: ${names.url} must then be a rediss:// URL`,
    );
  if (auth === 'iam' && parsed.password !== '')
    throw invalidArgument(
      `${names.auth}=iam sends an access token as the password: ${names.url} must carry none`,
    );
  return {url, ...(ca === undefined ? {} : {ca}), auth};
}
