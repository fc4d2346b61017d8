import {invalidArgument} from './invalid-argument';

/**
 * Refuses a field that `what` does not take, naming it and the fields it does take: a misspelt
 * optional field (`wiat` for `wait`) would otherwise be ignored, and its default used instead.
 */
export function onlyKnownFields(
  what: string,
  value: object,
  fields: readonly string[],
  noun = 'field',
): void {
  for (const field of Object.keys(value)) {
    if (!fields.includes(field))
      throw invalidArgument(
        `${shown(field)} is not a ${noun} of ${what}: it takes ${fields.join(', ')}`,
      );
  }
}

/** A plain name as itself; anything else (a space, a quote, a long string from a request body) quoted and cut short. */
function shown(field: string): string {
  if (/^[A-Za-z_$][\w$]{0,63}$/.test(field)) return field;
  const quoted = JSON.stringify(field);
  return quoted.length > 80 ? `${quoted.slice(0, 76)}..."` : quoted;
}
