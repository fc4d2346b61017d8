import {strict as assert} from 'node:assert';

/** A usage text names every flag its command line accepts (`--name`), and `-h, --help`. */
export function assertUsageNamesEveryFlag(
  usage: string,
  flags: Iterable<string>,
): void {
  for (const flag of flags)
    assert.ok(
      new RegExp(`(^|[\\s\\[(,])--${flag}\\b`).test(usage),
      `the usage names --${flag}`,
    );
  assert.match(usage, /-h, --help/);
}
