/**
 * Replaces the section of `markdown` that starts with `section`'s first line (its `## ` heading) and
 * runs to the next `## ` heading, or appends `section` when there is none: how one part of the
 * bench is rerun without rewriting the rest of BENCHMARKS.md.
 */
export function spliceSection(
  markdown: string,
  section: readonly string[],
): string {
  const [heading] = section;
  if (!heading?.startsWith('## '))
    throw new Error(
      `a section starts with its "## " heading, not ${JSON.stringify(heading)}`,
    );
  const all = markdown.split('\n');
  const start = all.indexOf(heading);
  if (start < 0) return [...all, ...section].join('\n');
  const next = all.findIndex(
    (line, index) => index > start && line.startsWith('## '),
  );
  const end = next < 0 ? all.length : next;
  return [...all.slice(0, start), ...section, ...all.slice(end)].join('\n');
}
