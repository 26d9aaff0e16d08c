import { NodeHtmlMarkdown } from 'node-html-markdown';
import { HTMLElement, type Node, parse, TextNode } from 'node-html-parser';

export interface ExtractedHtml {
  /** The page's `<title>`, else its first `<h1>`; `null` when it has neither. */
  title: string | null;
  /** The readable text as Markdown: headings as `#` lines, code as fenced blocks, no link URLs. */
  markdown: string;
}

/** Elements that never hold readable text, or hold only page chrome. */
const NOISE_TAGS = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'SVG',
  'CANVAS',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'VIDEO',
  'AUDIO',
  'MAP',
  'IMG',
  'PICTURE',
  'NAV',
  'FOOTER',
  'ASIDE',
  'BUTTON',
  'INPUT',
  'SELECT',
  'TEXTAREA',
  'OPTION',
  'LABEL',
  'DIALOG',
]);

const NOISE_ROLES = new Set([
  'navigation',
  'banner',
  'contentinfo',
  'complementary',
  'search',
  'menu',
  'menubar',
]);

/**
 * Class names (or ids) that mark navigation. Matched as whole tokens, so `toc` does not catch
 * `toctree-wrapper`. `navheader`/`navfooter` are DocBook's (the PostgreSQL manual's) Prev/Up/Next
 * bars; `toc` is DocBook's table of contents: links to other pages, which would match queries
 * without answering them.
 */
const NOISE_CLASSES = new Set([
  'navheader',
  'navfooter',
  'nav',
  'navbar',
  'navigation',
  'breadcrumb',
  'breadcrumbs',
  'sidebar',
  'toc',
  'skip-link',
  'skiplink',
  'headerlink',
  'visually-hidden',
  'sr-only',
]);

const CONTENT_TAGS = new Set(['MAIN', 'ARTICLE']);
const EMPHASIS_TAGS = new Set(['EM', 'I', 'VAR']);

/**
 * `false` makes the parser skip these elements' contents without building nodes for them.
 * `lowerCaseTagName` lets `<SCRIPT>` end at `</script>` (without it the rest of the page would
 * be swallowed); it costs a lower-casing of the page per skipped element, under 1 ms per MB.
 */
const PARSE_OPTIONS = {
  lowerCaseTagName: true,
  comment: false,
  blockTextElements: { script: false, noscript: false, style: false, template: false, svg: false },
};

/** An XML declaration and doctype, which the parser would keep as text. */
const PREAMBLE = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype[^>]*>)?/i;

/** One configured converter; it keeps no state between pages. */
const htmlToMarkdown = new NodeHtmlMarkdown({
  // Backslash escapes (`pg\_stat\_activity`) would break word search over the text; only a
  // line-leading `#` is escaped, so body text cannot pose as a heading to the markdown splitter.
  globalEscape: [/(?!)/g, ''],
  lineStartEscape: [/^(\s*)(#{1,6}\s)/gm, '$1\\$2'],
  maxConsecutiveNewlines: 2,
});

/**
 * Reduces an HTML page to its readable text as Markdown, plus its title.
 *
 * Scripts, styles, navigation (nav/header/footer/aside, navigation roles and classes, hidden
 * elements), forms and media are dropped; `<main>`, `[role=main]` or a single `<article>` is
 * preferred to the whole body. Links keep their text but lose their URLs, images are dropped,
 * entities are decoded, and runs of blank lines collapse to one.
 *
 * @example
 * extractHtml('<title>Indexes</title><nav>Home</nav><h1>Indexes</h1><p>B-tree &amp; hash</p>');
 * // { title: 'Indexes', markdown: '# Indexes\n\nB-tree & hash' }
 */
export function extractHtml(html: string): ExtractedHtml {
  const document = parse(html.replace(PREAMBLE, ''), PARSE_OPTIONS);
  const found: Landmarks = { title: null, body: null, main: null, articles: [] };
  clean(document, found, { content: false, table: false, code: false });
  const root =
    found.main ??
    (found.articles.length === 1 ? found.articles[0] : undefined) ??
    found.body ??
    document;
  const heading = found.title ?? firstHeading(root) ?? firstHeading(document);
  const markdown = tidyMarkdown(
    splitForConversion(root)
      .map((piece) => htmlToMarkdown.translate(piece))
      .join('\n\n'),
  );
  return { title: heading, markdown };
}

interface Landmarks {
  title: string | null;
  body: HTMLElement | null;
  main: HTMLElement | null;
  articles: HTMLElement[];
}

/** Where in the page an element sits. */
interface Scope {
  /** Inside `<main>`, `<article>` or `[role=main]`. */
  content: boolean;
  /** Inside a `<table>`, where the converter reads `|` as a cell border. */
  table: boolean;
  /** Inside a `<code>`, where another `<code>` would only add backticks. */
  code: boolean;
}

/**
 * One pass over the tree: removes noise, strips attributes (so no URL or data reaches the
 * converter, and the HTML it re-parses is small), flattens `<pre>` to plain code, and notes the
 * title and the content landmarks.
 */
function clean(element: HTMLElement, found: Landmarks, scope: Scope): void {
  const kept: Node[] = [];
  for (const child of element.childNodes) {
    if (!(child instanceof HTMLElement)) {
      if (child instanceof TextNode) kept.push(tidyText(child, kept.length === 0, scope.table));
      continue;
    }
    const tag = child.tagName;
    if (tag === 'TITLE') {
      found.title ??= normaliseSpace(child.text) || null;
      continue;
    }
    if (tag === 'HEAD') {
      clean(child, found, scope);
      continue;
    }
    if (isNoise(child, tag, scope.content)) continue;
    if (tag === 'CODE' && scope.code) {
      clean(child, found, scope);
      kept.push(...child.childNodes);
      continue;
    }
    const only = child.childNodes.length === 1 ? child.childNodes[0] : undefined;
    if (EMPHASIS_TAGS.has(tag) && only instanceof HTMLElement && only.tagName === 'CODE') {
      // PostgreSQL's `<em class="replaceable"><code>name</code></em>`: the code span says enough.
      clean(only, found, { ...scope, code: true });
      only.rawAttrs = '';
      if (scope.code) kept.push(...only.childNodes);
      else kept.push(only);
      continue;
    }
    const isMain = tag === 'MAIN' || hasRole(child, 'main');
    if (tag === 'PRE') {
      flattenPre(child, scope.table);
    } else {
      clean(child, found, {
        content: scope.content || isMain || CONTENT_TAGS.has(tag),
        table: scope.table || tag === 'TABLE',
        code: scope.code || tag === 'CODE',
      });
    }
    if (isMain) found.main ??= child;
    else if (tag === 'BODY') found.body ??= child;
    else if (tag === 'ARTICLE' && !scope.content) found.articles.push(child);
    child.rawAttrs = '';
    kept.push(child);
  }
  element.childNodes = kept;
}

/**
 * The converter re-reads its whole output after every append, so its time grows with the square
 * of a page's length (the PostgreSQL manual's 445 kB index page took 3.5 s in one piece). Pages
 * are converted in pieces of about this many characters of HTML, cut only between blocks.
 */
const PIECE_CHARS = 8_000;

/** Elements whose children can be converted apart without changing the Markdown. */
const SPLITTABLE_TAGS = new Set([
  'HTML',
  'BODY',
  'MAIN',
  'ARTICLE',
  'SECTION',
  'DIV',
  'UL',
  'DL',
  'TABLE',
]);

/** Tags after or before which a piece may end; cutting between inline nodes would break a line. */
const BLOCK_TAGS = new Set([
  'ADDRESS',
  'ARTICLE',
  'BLOCKQUOTE',
  'DD',
  'DETAILS',
  'DIV',
  'DL',
  'DT',
  'FIGURE',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'TABLE',
  'UL',
]);

/** Cuts an element's HTML into pieces of at most about `PIECE_CHARS`, between blocks. */
function splitForConversion(element: HTMLElement): string[] {
  if (element.tagName === 'TABLE') return splitTable(element);
  const pieces: string[] = [];
  // Lists keep their tag around each piece, so items still convert as list items.
  const wrap = element.tagName === 'UL' || element.tagName === 'DL';
  const open = wrap ? `<${element.rawTagName}>` : '';
  const close = wrap ? `</${element.rawTagName}>` : '';
  let current = '';
  let currentEndsBlock = true;
  const flush = () => {
    if (current !== '') pieces.push(open + current + close);
    current = '';
  };
  for (const child of element.childNodes) {
    const html = child.toString();
    const isBlock = child instanceof HTMLElement && BLOCK_TAGS.has(child.tagName);
    const canCut = currentEndsBlock || isBlock;
    if (
      html.length > PIECE_CHARS &&
      canCut &&
      child instanceof HTMLElement &&
      SPLITTABLE_TAGS.has(child.tagName)
    ) {
      flush();
      pieces.push(...splitForConversion(child));
    } else {
      if (canCut && current.length + html.length > PIECE_CHARS) flush();
      current += html;
    }
    currentEndsBlock = isBlock;
  }
  flush();
  return pieces;
}

/**
 * Cuts a long table between rows. Every piece repeats the first row, which the converter makes
 * the header, so each part still says what its columns are.
 */
function splitTable(table: HTMLElement): string[] {
  let caption = '';
  const rows: HTMLElement[] = [];
  for (const child of table.childNodes) {
    if (!(child instanceof HTMLElement)) continue;
    if (child.tagName === 'CAPTION') caption = child.toString();
    else if (child.tagName === 'TR') rows.push(child);
    else if (TABLE_SECTION_TAGS.has(child.tagName)) {
      for (const row of child.childNodes) {
        if (row instanceof HTMLElement && row.tagName === 'TR') rows.push(row);
      }
    }
  }
  const [header, ...body] = rows;
  if (header === undefined || body.length === 0) return [table.toString()];
  const headerHtml = header.toString();
  const pieces: string[] = [];
  let current = '';
  for (const row of body) {
    const html = row.toString();
    if (current !== '' && current.length + html.length > PIECE_CHARS) {
      pieces.push(current);
      current = '';
    }
    current += html;
  }
  pieces.push(current);
  return pieces.map(
    (piece, index) => `<table>${index === 0 ? caption : ''}${headerHtml}${piece}</table>`,
  );
}

const TABLE_SECTION_TAGS = new Set(['THEAD', 'TBODY', 'TFOOT']);

function isNoise(element: HTMLElement, tag: string, insideContent: boolean): boolean {
  if (NOISE_TAGS.has(tag)) return true;
  // A page's <header> is site chrome; an article's <header> holds its title.
  if (tag === 'HEADER' && !insideContent) return true;
  for (const name of element.classList.value) {
    if (NOISE_CLASSES.has(name.toLowerCase())) return true;
  }
  if (element.id !== '' && NOISE_CLASSES.has(element.id.toLowerCase())) return true;
  const attributes = element.rawAttrs;
  if (attributes === '') return false;
  if (attributes.includes('role')) {
    const role = element.getAttribute('role')?.toLowerCase();
    if (role !== undefined && NOISE_ROLES.has(role)) return true;
  }
  if (attributes.includes('aria-hidden') && element.getAttribute('aria-hidden') === 'true') {
    return true;
  }
  if (attributes.includes('hidden') && element.hasAttribute('hidden')) return true;
  if (attributes.includes('display')) {
    const style = element.getAttribute('style') ?? '';
    if (/display\s*:\s*none/i.test(style)) return true;
  }
  return false;
}

/**
 * Folds line breaks in source text into spaces: the converter drops a text node's leading space
 * when the source began with a newline, which glues words to a preceding link or code span
 * (`use <a>DELETE</a>\n or` would become `DELETE`or). At the start of an element the space is
 * dropped, as the converter would have. In tables, `|` is swapped for a stand-in (see
 * `PIPE_STAND_IN`).
 */
function tidyText(text: TextNode, first: boolean, inTable: boolean): TextNode {
  let raw = text.rawText;
  const hasNewline = raw.includes('\n');
  const hasPipe = inTable && raw.includes('|');
  if (!hasNewline && !hasPipe) return text;
  if (hasNewline) {
    raw = raw.replace(/\s*\n\s*/g, ' ');
    if (first) raw = raw.trimStart();
  }
  if (hasPipe) raw = raw.replaceAll('|', PIPE_STAND_IN);
  return new TextNode(raw, text.parentNode);
}

/**
 * The converter splits table rows on ` |` and escapes only a cell's first `|`, so `'a' || 'b'`
 * in a cell would come out as `'a' | | 'b'` with an extra column. Pipes in tables travel as a
 * private-use character and come back as `\|` in `tidyMarkdown`.
 */
const PIPE_STAND_IN = '\uE000';

function hasRole(element: HTMLElement, role: string): boolean {
  return element.rawAttrs.includes('role') && element.getAttribute('role')?.toLowerCase() === role;
}

/**
 * Replaces a `<pre>`'s markup (`<em>`, `<code>`, links in a synopsis) with its plain text in one
 * `<code>`, which the converter turns into a fenced block instead of inline `_\`name\`_` noise.
 * Text stays entity-escaped, as the converter decodes it.
 */
function flattenPre(pre: HTMLElement, inTable: boolean): void {
  const code = new HTMLElement('code', {}, '', pre);
  // A newline right after <pre> is not content in HTML; trailing blank lines only pad the fence.
  let text = rawTextOf(pre)
    .replace(/^(?:[ \t]*\r?\n)+/, '')
    .trimEnd();
  if (inTable) text = text.replaceAll('|', PIPE_STAND_IN);
  code.childNodes = [new TextNode(text, code)];
  pre.childNodes = [code];
}

function rawTextOf(node: Node): string {
  if (node instanceof TextNode) return node.rawText;
  if (!(node instanceof HTMLElement)) return '';
  if (node.tagName === 'BR') return '\n';
  let text = '';
  for (const child of node.childNodes) text += rawTextOf(child);
  return text;
}

function firstHeading(element: HTMLElement): string | null {
  for (const child of element.childNodes) {
    if (!(child instanceof HTMLElement)) continue;
    if (child.tagName === 'H1') {
      const text = normaliseSpace(child.text);
      if (text !== '') return text;
    }
    const nested = firstHeading(child);
    if (nested !== null) return nested;
  }
  return null;
}

function normaliseSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A code fence line as the converter writes it; inline code can also start a line with ```. */
const FENCE = /^\s*```[\w-]*$/;

/**
 * Zero-width spaces, word joiners and soft hyphens: line-break hints (the PostgreSQL manual puts
 * them inside long key words) that would split words for search.
 */
const INVISIBLE = /[\u00ad\u200b\u2060\ufeff]/g;

/**
 * Line-level clean-up: drops trailing spaces (Markdown hard breaks), turns no-break spaces into
 * spaces, removes invisible break hints, un-pads table rows (the converter pads every cell to its
 * column's widest), brings back table pipes, and keeps at most one blank line in a row outside
 * code fences.
 */
function tidyMarkdown(markdown: string): string {
  const output: string[] = [];
  let inFence = false;
  let blank = true;
  for (const line of markdown
    .replace(/\u00a0/g, ' ')
    .replace(INVISIBLE, '')
    .split('\n')) {
    let tidy = line.trimEnd();
    if (FENCE.test(tidy)) inFence = !inFence;
    if (inFence) {
      output.push(tidy.replaceAll(PIPE_STAND_IN, '|'));
      blank = false;
      continue;
    }
    if (tidy.startsWith('|')) {
      tidy = tidy.replace(/ {2,}/g, ' ').replace(/-{4,}/g, '---');
    }
    if (tidy.includes(PIPE_STAND_IN)) tidy = tidy.replaceAll(PIPE_STAND_IN, '\\|');
    if (tidy === '') {
      if (blank) continue;
      blank = true;
    } else {
      blank = false;
    }
    output.push(tidy);
  }
  return output.join('\n').trim();
}
