/**
 * The timeout `npm run deploy` gives every function (infra/deploy/gcloud-commands.ts), and so the
 * deadline lockedHandler assumes by default: one number for both, kept here because the library
 * must not import infra/.
 */
export const FUNCTION_TIMEOUT_MS = 60_000;
