import type {LockLogger} from '../../telemetry/logger';

/** Errors a retry cannot mend: the server's certificate, or a refused password or token. */
const TLS_REFUSAL =
  /certificate|CERT_|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|alert|handshake/i;
const AUTH_REFUSAL = /WRONGPASS|NOAUTH|NOPERM|invalid (username|password)/i;

/**
 * What a failed call cannot say: a lock call fails with BACKEND_UNAVAILABLE ("no connection"),
 * while the reason is an event on the client. A TLS or AUTH refusal is a setting to fix, so it is
 * a warning naming the setting, once per distinct reason; anything else (a server restarting) is
 * debug.
 */
export function connectionErrorReporter(
  logger: LockLogger,
  settings: {ca: string; auth: string},
): (error: unknown) => void {
  let last: string | undefined;
  return error => {
    const message = (error as Error)?.message ?? String(error);
    const code = String((error as {code?: unknown})?.code ?? '');
    if (message === last) return;
    last = message;
    if (TLS_REFUSAL.test(`${code} ${message}`))
      logger.warn(
        `valkey: the TLS handshake failed: ${message}. Check ${settings.ca}: it must hold the server's CA (Memorystore: gcloud memorystore instances get-certificate-authority)`,
        {error: message, code},
      );
    else if (AUTH_REFUSAL.test(message))
      logger.warn(
        `valkey: the server refused the client's credentials: ${message}. Check the URL's password, or ${settings.auth} and the runtime account's roles/memorystore.dbConnectionUser`,
        {error: message},
      );
    else logger.debug('valkey: connection error', {error: message, code});
  };
}
