import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadFileError } from '../src/core/errors.ts';
import {
  countFiles,
  type LoadOptions,
  type LoadResult,
  loadPaths,
  parseDocument,
} from '../src/ingest/load-files.ts';

const options: LoadOptions = { maxFileBytes: 1_000_000 };
let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'streamrag-load-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes files under the temp root; string contents are UTF-8. */
async function writeTree(files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [name, contents] of Object.entries(files)) {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, contents);
  }
}

async function load(paths: string[], loadOptions = options): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for await (const result of loadPaths(paths, loadOptions)) results.push(result);
  return results;
}

/** Each result as `kind path [reason]`, with paths relative to the temp root. */
function summarise(results: LoadResult[]): string[] {
  return results.map((result) => {
    const where = path.relative(root, result.path).split(path.sep).join('/');
    return result.kind === 'document'
      ? `document ${where}`
      : `${result.kind} ${where}: ${result.reason}`;
  });
}

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describe('loadPaths', () => {
  it('walks directories recursively in sorted order, skipping hidden files and node_modules', async () => {
    await writeTree({
      'b.md': '# B',
      'a.txt': 'a',
      'guide/z.md': '# Z',
      'guide/Intro.md': '# Intro',
      'guide/deeper/x.html': '<h1>X</h1>',
      'c.htm': '<p>c</p>',
      '.hidden.md': '# hidden',
      '.git/HEAD.md': '# git',
      'node_modules/pkg/README.md': '# dependency',
    });
    expect(summarise(await load([root]))).toEqual([
      'document a.txt',
      'document b.md',
      'document c.htm',
      'document guide/Intro.md',
      'document guide/deeper/x.html',
      'document guide/z.md',
    ]);
  });

  it('loads files given directly, in the order given, even hidden ones', async () => {
    await writeTree({ 'z.md': '# Z', '.notes.md': '# Notes' });
    const results = await load([path.join(root, 'z.md'), path.join(root, '.notes.md')]);
    expect(summarise(results)).toEqual(['document z.md', 'document .notes.md']);
  });

  it('skips unsupported file types and says which', async () => {
    await writeTree({
      'guide.md': '# Guide',
      'manual.pdf': '%PDF-1.7',
      'photo.PNG': 'png',
      Makefile: 'all:',
    });
    const results = await load([root]);
    expect(summarise(results)).toEqual([
      'skipped Makefile: unsupported file without an extension',
      'document guide.md',
      'skipped manual.pdf: unsupported file type .pdf',
      'skipped photo.PNG: unsupported file type .png',
    ]);
    expect(results.filter((result) => result.kind === 'skipped')).toHaveLength(3);
  });

  it('fails each bad file with its reason and still loads the good ones beside it', async () => {
    await writeTree({
      'binary.txt': new Uint8Array([0x68, 0x69, 0x00, 0x01, 0x02]),
      'big.txt': 'x'.repeat(1_234_567),
      'blank.md': '  \n\t\n',
      'empty.txt': '',
      'good.md': '# Good\n\nReadable.',
      'latin1.md': new Uint8Array([0x63, 0x61, 0x66, 0xe9]), // "café" in Latin-1
      'only-front-matter.md': '---\ntitle: Nothing else\n---\n\n',
      'script-only.html': '<html><body><script>alert(1)</script><nav>Home</nav></body></html>',
      'utf16.txt': new Uint8Array([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]),
      'zz-good.txt': 'Also readable.',
    });
    expect(summarise(await load([root]))).toEqual([
      'failed big.txt: file is 1.2 MB, larger than the 1 MB limit (INGEST_MAX_FILE_BYTES)',
      'failed binary.txt: binary file (contains NUL bytes)',
      'failed blank.md: empty file',
      'failed empty.txt: empty file',
      'document good.md',
      'failed latin1.md: not valid UTF-8 text',
      'failed only-front-matter.md: no readable text',
      'failed script-only.html: no readable text',
      'failed utf16.txt: UTF-16 text is not supported; save the file as UTF-8',
      'document zz-good.txt',
    ]);
  });

  it('fails a path that does not exist and carries on with the next', async () => {
    await writeTree({ 'real.md': '# Real' });
    const missing = path.join(root, 'missing');
    const results = await load([missing, path.join(root, 'real.md')]);
    expect(results[0]).toEqual({
      kind: 'failed',
      path: missing,
      reason: 'no such file or directory',
    });
    expect(results[1]?.kind).toBe('document');
    expect(results).toHaveLength(2);
  });

  it('fails a dangling symbolic link and does not loop through a link to a parent', async () => {
    await writeTree({ 'docs/page.md': '# Page' });
    await symlink(path.join(root, 'nowhere.md'), path.join(root, 'docs/broken.md'));
    await symlink(path.join(root, 'docs'), path.join(root, 'docs/again'));
    await symlink(root, path.join(root, 'docs/up'));
    expect(summarise(await load([root]))).toEqual([
      'failed docs/broken.md: no such file or directory',
      'document docs/page.md',
    ]);
  });

  it('yields documents with source, title, text and format', async () => {
    await writeTree({
      'notes/setup.txt': 'Install it.\r\nThen run it.\r\n',
      'notes/page.html':
        '<html><head><title>Vacuuming</title></head><body><nav>Up</nav><h2>Why</h2><p>Dead rows.</p></body></html>',
    });
    const documents = (await load([root])).flatMap((result) =>
      result.kind === 'document' ? [result.document] : [],
    );
    // The temp dir is outside the working directory, so sources are absolute.
    expect(documents).toEqual([
      {
        source: path.join(root, 'notes/page.html').split(path.sep).join('/'),
        title: 'Vacuuming',
        text: '## Why\n\nDead rows.',
        format: 'markdown',
      },
      {
        source: path.join(root, 'notes/setup.txt').split(path.sep).join('/'),
        title: 'setup',
        text: 'Install it.\nThen run it.',
        format: 'text',
      },
    ]);
  });

  it('counts as many results as it yields, without reading the files', async () => {
    await writeTree({
      'a.md': '# A',
      'b.pdf': '%PDF',
      'c.txt': '',
      'sub/d.html': '<p>d</p>',
      '.hidden/e.md': '# E',
    });
    const paths = [root, path.join(root, 'missing.md')];
    expect(await countFiles(paths)).toBe(5);
    expect(await load(paths)).toHaveLength(5);
  });

  it('names sources relative to the working directory with forward slashes', async () => {
    const fixture = path.join('samples', 'postgres-docs', 'sql-droptable.html');
    const [result] = await load([fixture]);
    expect(result?.kind).toBe('document');
    if (result?.kind !== 'document') return;
    expect(result.document.source).toBe('samples/postgres-docs/sql-droptable.html');
    expect(result.document.title).toBe('DROP TABLE');
    expect(result.document.format).toBe('markdown');
    expect(result.document.text).toContain('## Synopsis');
  });
});

describe('parseDocument', () => {
  it('strips front matter and a byte-order mark, and titles Markdown by its first # heading', () => {
    const text =
      '\uFEFF---\ntitle: "From front matter"\ntags: [a, b]\n---\n\n' +
      'Intro line.\n\n```sh\n# not a title\n```\n\n## Second level\n\n# Real title\n\nBody.\n';
    expect(parseDocument('docs/guide.md', bytesOf(text), options)).toEqual({
      source: 'docs/guide.md',
      title: 'Real title',
      text: 'Intro line.\n\n```sh\n# not a title\n```\n\n## Second level\n\n# Real title\n\nBody.',
      format: 'markdown',
    });
  });

  it('titles Markdown by a setext heading, then front matter, then any heading, then file name', () => {
    const titleOf = (text: string) =>
      parseDocument('a/My Notes.markdown', bytesOf(text), options).title;
    expect(titleOf('Setext title\n============\n\nBody')).toBe('Setext title');
    expect(titleOf("---\ntitle: 'Matter'\n---\n## Sub\n\nBody")).toBe('Matter');
    expect(titleOf('Body first\n\n### Small heading ###\n')).toBe('Small heading');
    expect(titleOf('Only body text.')).toBe('My Notes');
    // A `---` rule with no closing fence is text, not front matter.
    expect(parseDocument('a/b.md', bytesOf('---\nJust a rule'), options).text).toBe(
      '---\nJust a rule',
    );
  });

  it('takes an HTML title from <title>, else <h1>, else the file name', () => {
    const titleOf = (html: string) => parseDocument('site/index.HTM', bytesOf(html), options).title;
    expect(titleOf('<title>Head title</title><h1>Heading</h1>')).toBe('Head title');
    expect(titleOf('<h1>Heading</h1><p>Text</p>')).toBe('Heading');
    expect(titleOf('<p>Text</p>')).toBe('index');
  });

  it('throws BadFileError for bad bytes', () => {
    const parse =
      (name: string, bytes: Uint8Array, maxFileBytes = 1000) =>
      () =>
        parseDocument(name, bytes, { maxFileBytes });
    expect(parse('a.md', new Uint8Array([0xc3, 0x28]))).toThrow(BadFileError);
    expect(parse('a.md', new Uint8Array([0xc3, 0x28]))).toThrow('not valid UTF-8 text');
    expect(parse('a.txt', bytesOf('a\u0000b'))).toThrow('binary file (contains NUL bytes)');
    expect(parse('a.txt', bytesOf('x'.repeat(1001)))).toThrow(
      'file is 1001 bytes, larger than the 1000 bytes limit (INGEST_MAX_FILE_BYTES)',
    );
    expect(parse('a.pdf', bytesOf('%PDF'))).toThrow('unsupported file type .pdf');
    try {
      parse('a.md', bytesOf(' \n '))();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BadFileError);
      expect((error as BadFileError).code).toBe('bad_file');
    }
  });
});
