/** The variables of the ready message's `export` line, as a shell would set them (values unquoted). */
export function exportedVariables(message: string): Record<string, string> {
  const line = message
    .split('\n')
    .find(text => text.trimStart().startsWith('export '));
  if (line === undefined)
    throw new Error(`no export line in the ready message:\n${message}`);
  const variables: Record<string, string> = {};
  const words = /(\w+)=('(?:[^']|'\\'')*'|\S+)/g;
  for (const [, name, raw] of line.matchAll(words)) {
    variables[name as string] = (raw as string).startsWith("'")
      ? (raw as string).slice(1, -1).replace(/'\\''/g, "'")
      : (raw as string);
  }
  return variables;
}
