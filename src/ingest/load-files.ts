import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { BadFileError } from '../core/errors.ts';
import { refuseOnWorkers } from '../core/runtime.ts';
import { extractHtml } from './extract-html.ts';

export interface LoadedDocument {
  /** The path relative to the working directory, with `/` separators (absolute when outside). */
  source: string;
  title: string;
  text: string;
  format: 'markdown' | 'text';
}

export type LoadResult =
  | { kind: 'document'; path: string; document: LoadedDocument }
  /** Not a supported file type. */
  | { kind: 'skipped'; path: string; reason: string }
  /** A supported file that could not be read. */
  | { kind: 'failed'; path: string; reason: string };

export interface LoadOptions {
  maxFileBytes: number;
}

type FileKind = 'markdown' | 'text' | 'html';

const FILE_KINDS: Readonly<Record<string, FileKind>> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.html': 'html',
  '.htm': 'html',
};

/** Directories never walked into, besides hidden ones (`.git`, `.venv`, …). */
const SKIPPED_NAMES = new Set(['node_modules']);

/**
 * Loads the documents under the given files and directories, one file at a time.
 *
 * Directories are walked recursively in sorted order, skipping hidden entries and
 * `node_modules`; a symbolic link to a directory already walked is not walked again. Each file
 * gives one result: its document, `skipped` for a type that is not loaded, or `failed` with a
 * reason a person can act on. Paths given explicitly are loaded even when hidden.
 *
 * @example
 * for await (const result of loadPaths(['docs'], { maxFileBytes: 10_000_000 })) {
 *   if (result.kind === 'document') console.log(result.document.title);
 *   else console.warn(`${result.path}: ${result.reason}`);
 * }
 */
export async function* loadPaths(
  paths: string[],
  options: LoadOptions,
): AsyncGenerator<LoadResult> {
  refuseFileIngestionOnWorkers();
  for await (const entry of walkPaths(paths)) {
    yield entry.kind === 'file' ? await loadFile(entry.path, options) : entry;
  }
}

/**
 * How many results `loadPaths` will yield for the same paths (a progress bar's total): the
 * same walk, without reading any file.
 *
 * @example
 * const total = await countFiles(['docs']);
 */
export async function countFiles(paths: string[]): Promise<number> {
  refuseFileIngestionOnWorkers();
  let count = 0;
  for await (const _entry of walkPaths(paths)) count += 1;
  return count;
}

function refuseFileIngestionOnWorkers() {
  refuseOnWorkers(
    'Ingestion from files',
    'run `npm run ingest -- <paths>` from Node with DATABASE_URL set to the database behind the Hyperdrive binding',
  );
}

type WalkEntry = { kind: 'file'; path: string } | { kind: 'failed'; path: string; reason: string };

async function* walkPaths(paths: string[]): AsyncGenerator<WalkEntry> {
  const walked = new Set<string>();
  for (const given of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(given)).isDirectory();
    } catch (error) {
      yield { kind: 'failed', path: given, reason: fileSystemReason(error) };
      continue;
    }
    if (isDirectory) yield* walkDirectory(given, walked);
    else yield { kind: 'file', path: given };
  }
}

async function* walkDirectory(directory: string, walked: Set<string>): AsyncGenerator<WalkEntry> {
  let entries: Dirent[];
  try {
    // A directory reached twice (a symbolic link back up the tree, or to a sibling) is walked once.
    const real = await realpath(directory);
    if (walked.has(real)) return;
    walked.add(real);
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    yield { kind: 'failed', path: directory, reason: fileSystemReason(error) };
    return;
  }
  const visible = entries
    .filter((entry) => !entry.name.startsWith('.') && !SKIPPED_NAMES.has(entry.name))
    .sort((a, b) => compareNames(a.name, b.name));
  for (const entry of visible) {
    const child = path.join(directory, entry.name);
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDirectory = (await stat(child)).isDirectory();
      } catch {
        // A dangling link: loading it as a file reports why, if its type is one we load.
      }
    }
    if (isDirectory) yield* walkDirectory(child, walked);
    else yield { kind: 'file', path: child };
  }
}

/** Code-point order, the same on every machine and locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function loadFile(filePath: string, options: LoadOptions): Promise<LoadResult> {
  const extension = path.extname(filePath).toLowerCase();
  if (FILE_KINDS[extension] === undefined) {
    return { kind: 'skipped', path: filePath, reason: unsupportedReason(extension) };
  }
  try {
    const info = await stat(filePath);
    if (!info.isFile()) return { kind: 'skipped', path: filePath, reason: 'not a regular file' };
    // Checked before reading, so an oversized file never reaches memory.
    if (info.size > options.maxFileBytes) {
      return { kind: 'failed', path: filePath, reason: tooLargeReason(info.size, options) };
    }
    const bytes = await readFile(filePath);
    return { kind: 'document', path: filePath, document: parseDocument(filePath, bytes, options) };
  } catch (error) {
    const reason = error instanceof BadFileError ? error.message : fileSystemReason(error);
    return { kind: 'failed', path: filePath, reason };
  }
}

/**
 * Turns a file's bytes into a document: decodes strict UTF-8 (dropping a byte-order mark),
 * reduces HTML to Markdown, strips YAML front matter from Markdown, and picks a title.
 *
 * @throws {BadFileError} when the file is too large, binary, not UTF-8, of an unsupported type,
 *   or has no readable text.
 * @example
 * parseDocument('docs/intro.md', new TextEncoder().encode('# Intro\n\nHello'), options);
 * // { source: 'docs/intro.md', title: 'Intro', text: '# Intro\n\nHello', format: 'markdown' }
 */
export function parseDocument(
  filePath: string,
  bytes: Uint8Array,
  options: LoadOptions,
): LoadedDocument {
  const extension = path.extname(filePath).toLowerCase();
  const kind = FILE_KINDS[extension];
  if (kind === undefined) throw new BadFileError(unsupportedReason(extension));
  if (bytes.length > options.maxFileBytes) {
    throw new BadFileError(tooLargeReason(bytes.length, options));
  }
  const raw = decodeText(bytes);
  if (raw.trim() === '') throw new BadFileError('empty file');
  const source = sourceOf(filePath);
  const fileTitle = path.basename(filePath, path.extname(filePath));
  switch (kind) {
    case 'html': {
      const { title, markdown } = extractHtml(raw);
      if (markdown.trim() === '') throw new BadFileError('no readable text');
      return { source, title: title ?? fileTitle, text: markdown, format: 'markdown' };
    }
    case 'markdown': {
      const { frontMatterTitle, body } = splitFrontMatter(raw);
      if (body.trim() === '') throw new BadFileError('no readable text');
      const title = markdownTitle(body, frontMatterTitle) ?? fileTitle;
      return { source, title, text: trimBlankLines(body), format: 'markdown' };
    }
    case 'text':
      return { source, title: fileTitle, text: trimBlankLines(raw), format: 'text' };
  }
}

/** Trims blank lines at both ends, but not the indentation of the first line. */
function trimBlankLines(text: string): string {
  return text.replace(/^(?:[ \t]*\n)+/, '').trimEnd();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(bytes: Uint8Array): string {
  const startsWith = (...prefix: number[]) => prefix.every((byte, index) => bytes[index] === byte);
  if (startsWith(0xff, 0xfe) || startsWith(0xfe, 0xff)) {
    throw new BadFileError('UTF-16 text is not supported; save the file as UTF-8');
  }
  if (bytes.includes(0)) throw new BadFileError('binary file (contains NUL bytes)');
  let text: string;
  try {
    // The decoder drops a leading byte-order mark itself.
    text = utf8.decode(bytes);
  } catch {
    throw new BadFileError('not valid UTF-8 text');
  }
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function sourceOf(filePath: string): string {
  const absolute = path.resolve(filePath);
  const relative = path.relative(process.cwd(), absolute);
  const outside = relative === '' || relative.startsWith('..') || path.isAbsolute(relative);
  return (outside ? absolute : relative).split(path.sep).join('/');
}

/** `---` on the first line, then YAML, then `---` (or `...`) on a line of its own. */
const FRONT_MATTER = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/;

function splitFrontMatter(text: string): { frontMatterTitle: string | null; body: string } {
  const match = FRONT_MATTER.exec(text);
  if (match === null) return { frontMatterTitle: null, body: text };
  const titleLine = /^title:[ \t]*(.+?)[ \t]*$/m.exec(match[1] ?? '');
  const title = titleLine?.[1]?.replace(/^(['"])(.*)\1$/, '$2').trim();
  return { frontMatterTitle: title || null, body: text.slice(match[0].length) };
}

/**
 * The first level-1 heading (ATX `# Title` or setext `Title` over `===`), else the front
 * matter's `title:`, else the first heading of any level. Code fences are skipped, so a shell
 * comment is never taken for a heading.
 */
function markdownTitle(body: string, frontMatterTitle: string | null): string | null {
  let firstHeading: string | null = null;
  let fence: string | null = null;
  let previous = '';
  for (const line of body.split('\n')) {
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch?.[1] !== undefined) {
      const marker = fenceMatch[1];
      if (fence === null) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      previous = '';
      continue;
    }
    if (fence !== null) continue;
    const atx = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx?.[1] !== undefined && atx[2] !== undefined && atx[2] !== '') {
      if (atx[1] === '#') return atx[2];
      firstHeading ??= atx[2];
    } else if (/^ {0,3}=+[ \t]*$/.test(line) && previous.trim() !== '') {
      return previous.trim();
    }
    previous = line;
  }
  return frontMatterTitle ?? firstHeading;
}

function unsupportedReason(extension: string): string {
  return extension === ''
    ? 'unsupported file without an extension'
    : `unsupported file type ${extension}`;
}

function tooLargeReason(size: number, options: LoadOptions): string {
  return (
    `file is ${formatMegabytes(size)}, larger than the ${formatMegabytes(options.maxFileBytes)} ` +
    'limit (INGEST_MAX_FILE_BYTES)'
  );
}

function formatMegabytes(bytes: number): string {
  const megabytes = bytes / 1_000_000;
  if (megabytes < 0.1) return `${bytes} bytes`;
  return `${Number(megabytes.toFixed(1))} MB`;
}

function fileSystemReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EISDIR':
      return 'is a directory';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
