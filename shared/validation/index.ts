/**
 * Every input rule in one place: the library's options and configuration, lockedHandler's options,
 * the functions' settings, the HTTP bodies and both CLIs check their input here. The library's
 * rules throw an INVALID_ARGUMENT LockError naming the problem; the predicates (`is...`) and text
 * parsers leave the wording of the error to a caller that has its own (a CLI's usage error).
 */
export {
  invalidArgument,
  isInvalidArgument,
  typeOf,
  describeValue,
} from './invalid-argument';
export {objectOption, booleanOption, stringOption} from './plain-values';
export {
  MAX_DURATION_MS,
  MIN_LEASE_MS,
  durationOption,
  leaseOption,
  positiveDuration,
} from './durations';
export {wholeNumberOption} from './counts';
export {backoffPolicyOption} from './backoff-policy';
export {onlyKnownFields} from './known-fields';
export {MAX_IDENTIFIER_BYTES, validateIdentifier} from './identifier';
export {
  DATABASE_ID,
  DATABASE_ID_RULE,
  DEFAULT_DATABASE,
  isDatabaseId,
  databaseIdOption,
} from './database-id';
export {
  memcacheKeyPrefixOption,
  isMemcacheServerList,
  MEMCACHE_SERVERS_RULE,
} from './memcached-names';
export {entityKindOption, namespaceOption} from './store-names';
export {isValkeyUrl, valkeyUrlOption, VALKEY_URL_RULE} from './valkey-url';
export {envValkeyCa, parseValkeyCa, VALKEY_CA_RULE} from './valkey-ca';
export {envValkeyAuth, type ValkeyAuthMode} from './valkey-auth';
export {valkeyConnection} from './valkey-connection';
export {
  GOOGLE_CLOUD_NAMES,
  isGoogleCloudName,
  type GoogleCloudName,
} from './google-cloud-names';
export {DURATION_TEXT_RULE, parseDurationText} from './duration-text';
export {
  envWholeNumber,
  envDatabaseId,
  envChoice,
  envValkeyUrl,
  type Environment,
} from './env-values';
export {isPortNumber} from './port-number';
