/**
 * The shapes Google Cloud accepts for the names `npm run deploy` is given, checked before its
 * first call so a typo fails at once, not half-way through a deploy.
 */
export const GOOGLE_CLOUD_NAMES = {
  project: {
    pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    noun: 'a project id',
  },
  region: {pattern: /^[a-z]+-[a-z]+\d+$/, noun: 'a region (like europe-west1)'},
  /** A region (europe-west1) or a multi-region (eur3, nam5). */
  location: {
    pattern: /^[a-z]+(-[a-z]+)?\d+$/,
    noun: 'a location (like europe-west1 or eur3)',
  },
  serviceAccount: {
    pattern: /^[a-z0-9][a-z0-9.-]*@[a-z0-9.-]+\.gserviceaccount\.com$/,
    noun: 'a service account email',
  },
} as const;

export type GoogleCloudName = keyof typeof GOOGLE_CLOUD_NAMES;

export function isGoogleCloudName(
  kind: GoogleCloudName,
  value: string,
): boolean {
  return GOOGLE_CLOUD_NAMES[kind].pattern.test(value);
}
