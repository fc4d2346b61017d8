/**
 * The identifier rule lives in validation/identifier.ts; these names stay importable from here for
 * the modules that import them from this file.
 */
export {MAX_IDENTIFIER_BYTES, typeOf, validateIdentifier} from './validation';
