import {strict as assert} from 'node:assert';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {REPO} from '../support/function-server';

/**
 * The README is short and links into docs/ for everything else, so a renamed file or heading
 * silently strands a reader. Every relative link in the top-level guides and docs/*.md must reach
 * a file that exists and, when it names an anchor in a markdown file, a heading that makes it.
 */
describe('docs: relative links resolve', () => {
  it('README.md, CONTRIBUTING.md and docs/*.md link only to files and headings that exist', () => {
    const broken = brokenLinks(REPO, documentedFiles(REPO));
    assert.deepEqual(broken, []);
  });

  it('the README links to every docs file', () => {
    const readme = linksIn(readFileSync(join(REPO, 'README.md'), 'utf8'));
    const linked = new Set(readme.map(link => link.split('#')[0]));
    const unlinked = readdirSync(join(REPO, 'docs'))
      .filter(name => name.endsWith('.md'))
      .map(name => `docs/${name}`)
      .filter(path => !linked.has(path));
    assert.deepEqual(unlinked, []);
  });

  describe('the checker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docs-links-'));
    after(() => rmSync(dir, {recursive: true, force: true}));

    it('reports a missing file, a missing anchor and a missing image, and passes good links', () => {
      mkdirSync(join(dir, 'docs'), {recursive: true});
      writeFileSync(
        join(dir, 'docs', 'guide.md'),
        [
          '# The guide',
          '',
          '## `lockedHandler()` for Pub/Sub-triggered functions',
          '',
          '## Which store, which database',
          '',
          '```sh',
          '# not a heading',
          '```',
          '',
          'Back to the [README](../README.md#start), [self](#the-guide).',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, 'README.md'),
        [
          '# Start',
          '',
          '[ok](docs/guide.md#lockedhandler-for-pubsub-triggered-functions)',
          '[ok](docs/guide.md#which-store-which-database) [web](https://example.com/x.md#nope)',
          '[gone](docs/missing.md) and [bad anchor](docs/guide.md#not-a-heading)',
          '![picture](docs/missing.png) `[in code](docs/nowhere.md)`',
          '```md',
          '[in a fence](docs/nowhere.md)',
          '```',
        ].join('\n'),
      );
      assert.deepEqual(brokenLinks(dir, ['README.md', 'docs/guide.md']), [
        'README.md: docs/missing.md (no such file)',
        'README.md: docs/guide.md#not-a-heading (no such heading)',
        'README.md: docs/missing.png (no such file)',
      ]);
    });

    it('gives a repeated heading GitHub-style suffixes', () => {
      assert.deepEqual(
        [...anchorsOf('## Options\n\n## Options\n\n### Options')],
        ['options', 'options-1', 'options-2'],
      );
    });
  });
});

function documentedFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter(name => name.endsWith('.md'))
    .map(name => `docs/${name}`);
  return ['README.md', 'CONTRIBUTING.md', ...docs];
}

/** One line per broken link: `file: target (why)`. */
function brokenLinks(root: string, files: string[]): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const from = join(root, file);
    for (const target of linksIn(readFileSync(from, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
      const [path = '', anchor] = target.split('#', 2);
      const to = path === '' ? from : resolve(dirname(from), path);
      if (!existsSync(to)) {
        broken.push(`${file}: ${target} (no such file)`);
      } else if (anchor !== undefined && to.endsWith('.md')) {
        if (!anchorsOf(readFileSync(to, 'utf8')).has(anchor))
          broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  return broken;
}

/** The targets of inline links and images, outside fenced code and code spans. */
function linksIn(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(
      /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    ))
      targets.push(match[1] as string);
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose);
    if (definition) targets.push(definition[1] as string);
  }
  return targets;
}

/** The anchors GitHub gives a file's headings (github-slugger's rule, repeats suffixed -1, -2). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
      .replace(/[`*]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The lines outside fenced code blocks. */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (opener && (fence === undefined || opener.startsWith(fence))) {
      fence = fence === undefined ? opener : undefined;
      continue;
    }
    if (fence === undefined) lines.push(line);
  }
  return lines;
}
