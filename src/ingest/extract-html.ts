import { NodeHtmlMarkdown } from 'node-html-markdown';
import { HTMLElement, type Node, parse, TextNode } from 'node-html-parser';
import { BadFileError } from '../core/errors.ts';

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
 * Tag names are lower-cased beforehand (`lowerCaseTagNames`), so `<SCRIPT>` still ends at
 * `</script>`: the parser's own `lowerCaseTagName` lower-cases the whole page once per skipped
 * element, which made a page of many small `<svg>`s quadratic. `parseNoneClosedTags` keeps an
 * unclosed element around its content (as browsers do); without it the parser hoists the content
 * of each unclosed element into its parent, one level at a time, which is quadratic in how many
 * are left open.
 */
const PARSE_OPTIONS = {
  lowerCaseTagName: false,
  comment: false,
  parseNoneClosedTags: true,
  blockTextElements: { script: false, noscript: false, style: false, template: false, svg: false },
};

/** `<` or `</` and a tag name, as far as the parser reads one (its ASCII part). */
const TAG_NAME = /<\/?[A-Za-z][-.:\w]*/g;

function lowerCaseTagNames(html: string): string {
  return html.replace(TAG_NAME, (tag) => tag.toLowerCase());
}

/** An XML declaration and doctype, which the parser would keep as text. */
const PREAMBLE = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype[^>]*>)?/i;

/** One configured converter; it keeps no state between pages. */
const htmlToMarkdown = new NodeHtmlMarkdown(
  {
    // Backslash escapes (`pg\_stat\_activity`) would break word search over the text; only a
    // line-leading `#` is escaped, so body text cannot pose as a heading to the markdown splitter.
    globalEscape: [/(?!)/g, ''],
    lineStartEscape: [/^(\s*)(#{1,6}\s)/gm, '$1\\$2'],
    maxConsecutiveNewlines: 2,
  },
  {
    // A long ordered list is converted in pieces; each later piece says where its numbering
    // continues (`<ol start="n">`, which the converter otherwise ignores). Page attributes are
    // stripped before conversion, so only those pieces carry one.
    ol: ({ node, nodeMetadata }) => {
      const start = Number(node.getAttribute('start'));
      const metadata = nodeMetadata.get(node);
      if (metadata !== undefined && Number.isInteger(start) && start > 1) {
        metadata.listItemNumber = start - 1;
      }
      // As the converter's own list translator, whose list kind is always set by then.
      return { surroundingNewlines: 1 };
    },
  },
);

/**
 * How long one page may take to convert before it is given up as a bad file. Conversion time is
 * linear in the page's size: about 0.5 s per MB, 1 to 1.4 s per MB for the densest markup (a page
 * of nothing but `<br>`s), so a 10 MB page (the default file size limit) takes at most about
 * 15 s. Only a shape not foreseen here should reach this; it keeps such a page from stalling
 * ingestion, which runs on the main thread.
 */
const TIME_LIMIT_MS = 30_000;

export interface ExtractOptions {
  /** Give up (with a `BadFileError`) once converting the page has taken this long. */
  timeLimitMs?: number;
}

/**
 * Reduces an HTML page to its readable text as Markdown, plus its title.
 *
 * Scripts, styles, navigation (nav/header/footer/aside, navigation roles and classes, hidden
 * elements), forms and media are dropped; `<main>`, `[role=main]` or a single `<article>` is
 * preferred to the whole body. Links keep their text but lose their URLs, images are dropped,
 * entities are decoded, and runs of blank lines collapse to one.
 *
 * Time is linear in the page's size, whatever its shape: the page is converted in pieces of a
 * few kB (see `Splitter`), and nesting deeper than any real page is flattened.
 *
 * @throws {BadFileError} when the conversion takes longer than `options.timeLimitMs`.
 * @example
 * extractHtml('<title>Indexes</title><nav>Home</nav><h1>Indexes</h1><p>B-tree &amp; hash</p>');
 * // { title: 'Indexes', markdown: '# Indexes\n\nB-tree & hash' }
 */
export function extractHtml(html: string, options: ExtractOptions = {}): ExtractedHtml {
  const timeLimitMs = options.timeLimitMs ?? TIME_LIMIT_MS;
  const deadline = performance.now() + timeLimitMs;
  const document = parse(lowerCaseTagNames(html.replace(PREAMBLE, '')), PARSE_OPTIONS);
  const found: Landmarks = { title: null, body: null, main: null, articles: [] };
  clean(document, found, TOP_SCOPE);
  const root =
    found.main ??
    (found.articles.length === 1 ? found.articles[0] : undefined) ??
    found.body ??
    document;
  const heading = found.title ?? firstHeading(root) ?? firstHeading(document);
  const splitter = new Splitter(deadline, timeLimitMs);
  splitter.convert(root);
  return { title: heading, markdown: tidyMarkdown(splitter.markdown.join('\n\n')) };
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
  /** How many elements enclose this one. */
  depth: number;
  /** How many lists and block quotes enclose this one. */
  nesting: number;
  /** Inside a list or quote nested too deep, whose lists and quotes become plain blocks. */
  flat: boolean;
  /** The formatting (`FORMATS`) enclosing elements already apply. */
  formats: number;
}

const TOP_SCOPE: Scope = {
  content: false,
  table: false,
  code: false,
  depth: 0,
  nesting: 0,
  flat: false,
  formats: 0,
};

/**
 * Elements nested deeper than this are flattened to paragraphs of their text: real pages nest
 * 10 to 30 deep, while a few thousand levels would overflow the stack here and in the converter.
 */
const MAX_DEPTH = 100;

/**
 * Lists and quotes nested deeper than this become plain blocks. Each level indents or quotes
 * every line inside it, so a page of deeply nested `<blockquote>`s would convert to Markdown
 * many times its own size (and the converter re-reads each level's text).
 */
const MAX_NESTING = 8;

/** Elements that indent or quote their content, counted by `Scope.nesting`. */
const NESTING_TAGS = new Set(['UL', 'OL', 'BLOCKQUOTE']);

/**
 * Inline formatting, as bits of `Scope.formats`. Inside the same formatting (`<b>` in `<b>`) an
 * element adds nothing to the Markdown, as the converter drops the inner delimiters, but it costs
 * the converter a pass over its content; such elements become `<span>`s.
 */
const FORMATS: Readonly<Record<string, number>> = {
  B: 1,
  STRONG: 1,
  EM: 2,
  I: 2,
  DEL: 4,
  S: 4,
  STRIKE: 4,
};

/**
 * One pass over the tree: removes noise, strips attributes (so no URL or data reaches the
 * converter, and the HTML it re-parses is small), flattens `<pre>` to plain code, bounds the
 * nesting (see `MAX_DEPTH`, `MAX_NESTING`, `FORMATS`), and notes the title and the content
 * landmarks.
 */
function clean(element: HTMLElement, found: Landmarks, scope: Scope): void {
  if (scope.depth >= MAX_DEPTH) {
    element.childNodes = flattenDeep(element, scope);
    return;
  }
  const kept: Node[] = [];
  const depth = scope.depth + 1;
  for (const child of element.childNodes) {
    if (!(child instanceof HTMLElement)) {
      if (child instanceof TextNode) kept.push(tidyText(child, kept.length === 0, scope.table));
      continue;
    }
    const tag = child.tagName;
    if (tag === 'TITLE') {
      found.title ??= normaliseSpace(textOf(child)) || null;
      continue;
    }
    if (tag === 'HEAD') {
      clean(child, found, { ...scope, depth });
      continue;
    }
    if (isNoise(child, tag, scope.content)) continue;
    if (tag === 'CODE' && scope.code) {
      clean(child, found, { ...scope, depth });
      for (const node of child.childNodes) kept.push(node);
      continue;
    }
    const only = child.childNodes.length === 1 ? child.childNodes[0] : undefined;
    if (EMPHASIS_TAGS.has(tag) && only instanceof HTMLElement && only.tagName === 'CODE') {
      // PostgreSQL's `<em class="replaceable"><code>name</code></em>`: the code span says enough.
      clean(only, found, { ...scope, depth, code: true });
      only.rawAttrs = '';
      if (scope.code) {
        for (const node of only.childNodes) kept.push(node);
      } else {
        kept.push(only);
      }
      continue;
    }
    const isMain = tag === 'MAIN' || hasRole(child, 'main');
    if (tag === 'PRE') {
      flattenPre(child, scope.table);
    } else {
      const format = FORMATS[tag] ?? 0;
      if ((scope.formats & format) !== 0) child.tagName = 'span';
      const nests = NESTING_TAGS.has(tag);
      const flat = scope.flat || (nests && scope.nesting >= MAX_NESTING);
      if (flat && (nests || tag === 'LI')) child.tagName = 'div';
      clean(child, found, {
        content: scope.content || isMain || CONTENT_TAGS.has(tag),
        table: scope.table || tag === 'TABLE',
        code: scope.code || tag === 'CODE',
        depth,
        nesting: scope.nesting + (nests ? 1 : 0),
        flat,
        formats: scope.formats | format,
      });
    }
    if (isMain) found.main ??= child;
    else if (tag === 'BODY') found.body ??= child;
    else if (tag === 'ARTICLE' && !scope.content) found.articles.push(child);
    child.rawAttrs = '';
    kept.push(child);
  }
  element.childNodes = UNGROUPED_TAGS.has(element.tagName) ? kept : groupInline(kept, element);
}

/**
 * The converter's parser makes each node its parent's last child by filtering the parent's
 * children, so a piece whose element holds thousands of inline nodes (a paragraph of `<b>`s)
 * costs the square of that. Runs of more than this many inline nodes are grouped in `<span>`s,
 * which the converter passes through without a trace.
 */
const GROUP_SIZE = 64;

/** Elements whose children may be grouped; not lists, tables, or code, whose children matter. */
const UNGROUPED_TAGS = new Set(['UL', 'OL', 'DL', 'TABLE', 'THEAD', 'TBODY', 'TFOOT', 'TR', 'PRE']);

function groupInline(nodes: Node[], parent: HTMLElement): Node[] {
  if (nodes.length <= GROUP_SIZE) return nodes;
  const grouped: Node[] = [];
  let run: Node[] = [];
  const endRun = () => {
    if (run.length <= GROUP_SIZE) {
      for (const node of run) grouped.push(node);
    } else {
      for (let start = 0; start < run.length; start += GROUP_SIZE) {
        const span = newElement('span', parent);
        span.childNodes = run.slice(start, start + GROUP_SIZE);
        grouped.push(span);
      }
    }
    run = [];
  };
  for (const node of nodes) {
    if (node instanceof HTMLElement && BLOCK_TAGS.has(node.tagName)) {
      endRun();
      grouped.push(node);
    } else {
      run.push(node);
    }
  }
  endRun();
  return grouped;
}

/**
 * A new, empty element. It shares its parent's `VoidTag` (the parser's list of void elements);
 * the constructor's default builds a new one per element.
 */
function newElement(tag: string, parent: HTMLElement): HTMLElement {
  const { voidTag } = parent as unknown as {
    voidTag: ConstructorParameters<typeof HTMLElement>[5];
  };
  return new HTMLElement(tag, {}, '', parent, undefined, voidTag);
}

/**
 * The content of an element nested too deep (`MAX_DEPTH`), without recursion: its text, less
 * noise, in a paragraph per run of text between blocks. Inline formatting is lost.
 */
function flattenDeep(element: HTMLElement, scope: Scope): Node[] {
  const paragraphs: Node[] = [];
  let run: Node[] = [];
  const endRun = () => {
    if (run.length === 0) return;
    const paragraph = newElement('p', element);
    paragraph.childNodes = run;
    paragraphs.push(paragraph);
    run = [];
  };
  // `undefined` marks the end of a block.
  const stack: (Node | undefined)[] = element.childNodes.slice().reverse();
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === undefined) {
      endRun();
    } else if (node instanceof TextNode) {
      run.push(tidyText(node, run.length === 0, scope.table));
    } else if (node instanceof HTMLElement) {
      const tag = node.tagName;
      if (tag === 'TITLE' || isNoise(node, tag, scope.content)) continue;
      if (tag === 'BR') {
        run.push(newElement('br', element));
        continue;
      }
      if (BLOCK_TAGS.has(tag) || CELL_TAGS.has(tag)) {
        endRun();
        stack.push(undefined);
      }
      for (const child of node.childNodes.toReversed()) stack.push(child);
    }
  }
  endRun();
  return paragraphs;
}

/**
 * The converter re-reads its whole output after every append, so its time grows with the square
 * of a piece's length (the PostgreSQL manual's 445 kB index page took 3.5 s in one piece, and a
 * 1 MB paragraph over 3 minutes). Pages are converted in pieces of about this many characters of
 * HTML; a piece may reach about three times this before it is cut mid-line.
 */
const PIECE_CHARS = 8_000;

/**
 * A line (a run of inline content) shorter than this is never cut: a piece may then run over
 * `PIECE_CHARS` by as much. Longer lines, which real pages hardly have, are cut as pieces fill.
 */
const LONG_LINE_CHARS = 2_000;

/** A piece this full is cut at the next space in a long line, not only at a sentence end. */
const OVERFULL_CHARS = 1.25 * PIECE_CHARS;

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

const CELL_TAGS = new Set(['CAPTION', 'TR', 'TD', 'TH']);
const TABLE_SECTION_TAGS = new Set(['THEAD', 'TBODY', 'TFOOT']);

/** Elements whose meaning must wrap every piece of their content to survive a cut. */
const WRAPPER_TAGS = new Set([
  'UL',
  'BLOCKQUOTE',
  'B',
  'STRONG',
  'EM',
  'I',
  'DEL',
  'S',
  'STRIKE',
  'CODE',
]);

const HEADING_TAGS = new Set(['H1', 'H2', 'H3', 'H4', 'H5', 'H6']);

/** Inline elements the converter writes nothing for, so a piece may end inside one. */
const TRANSPARENT_TAGS = new Set([
  'A',
  'ABBR',
  'ACRONYM',
  'BDI',
  'BDO',
  'BIG',
  'CITE',
  'DATA',
  'DFN',
  'FONT',
  'INS',
  'KBD',
  'MARK',
  'NOBR',
  'Q',
  'SAMP',
  'SMALL',
  'SPAN',
  'SUB',
  'SUP',
  'TIME',
  'TT',
  'U',
  'VAR',
]);

/** An element a cut has been made inside, whose tag must wrap the pieces of its content. */
interface Frame {
  wrap(html: string): string;
  /** Called after each piece. */
  reset?(): void;
}

/**
 * Cuts the page into pieces and converts them one by one. An element longer than a piece is cut
 * between its children, down to whatever level it takes: lists, quotes and formatting are
 * repeated around each piece of their content (an ordered list with its item number), a table
 * repeats its header row, a long run of inline content is cut at a sentence or a space, and long
 * code at a line end. Elements of no more than a piece go whole, with their neighbours, so most
 * pages are cut only between top-level blocks. All text is kept, in order.
 */
class Splitter {
  readonly markdown: string[] = [];
  private readonly frames: Frame[] = [];
  /** Sizes of the elements measured so far (a text node's is its length). */
  private readonly sizes = new Map<HTMLElement, number>();
  /** The HTML gathered for the next piece, inside `frames`. */
  private current = '';
  /** `current` is empty or ends with a block, where a piece may end without breaking a line. */
  private endsAtBlock = true;
  /** How `current` ends, for choosing where a long line may be cut. */
  private tail: Tail = 'sentence';
  /** How much of `current` is inline content since its last block: the line being written. */
  private line = 0;
  private readonly deadline: number;
  private readonly timeLimitMs: number;

  constructor(deadline: number, timeLimitMs: number) {
    this.deadline = deadline;
    this.timeLimitMs = timeLimitMs;
  }

  convert(root: HTMLElement): void {
    this.splitElement(root);
  }

  /** Converts `current`, wrapped in the open frames, as one piece. */
  private flush(): void {
    const inner = this.current;
    this.current = '';
    this.endsAtBlock = true;
    this.tail = 'sentence';
    this.line = 0;
    if (inner.trim() === '') return;
    let html = inner;
    for (const frame of this.frames.toReversed()) html = frame.wrap(html);
    for (const frame of this.frames) frame.reset?.();
    this.markdown.push(htmlToMarkdown.translate(html));
    if (performance.now() > this.deadline) {
      throw new BadFileError(
        `HTML too complex to convert within ${Math.round(this.timeLimitMs / 1000)} s`,
      );
    }
  }

  /** The length of a node's HTML, give or take; computed once per element. */
  private size(node: Node): number {
    if (node instanceof TextNode) return node.rawText.length;
    if (!(node instanceof HTMLElement)) return 0;
    let size = node.rawTagName ? 2 * node.rawTagName.length + 5 : 0;
    if (node.childNodes.length === 0) return size;
    const known = this.sizes.get(node);
    if (known !== undefined) return known;
    for (const child of node.childNodes) size += this.size(child);
    this.sizes.set(node, size);
    return size;
  }

  /** Converts an element that does not fit in a piece, cutting inside it. */
  private splitElement(element: HTMLElement): void {
    const tag = element.tagName;
    if (tag === 'TABLE') {
      this.splitTable(element);
      return;
    }
    if (tag === 'PRE' && this.splitPre(element)) return;
    const frame = this.frameFor(element);
    if (frame !== undefined) this.frames.push(frame);
    const list = frame instanceof ListFrame ? frame : undefined;
    for (const child of element.childNodes) {
      if (child instanceof TextNode) this.addText(child.rawText);
      else if (child instanceof HTMLElement) this.addElement(child, list);
    }
    this.flush();
    if (frame !== undefined) this.frames.pop();
  }

  private addElement(element: HTMLElement, list: ListFrame | undefined): void {
    const numbered = list !== undefined && element.tagName === 'LI' && !isBlank(element);
    if (numbered) list.item += 1;
    const size = this.size(element);
    if (size > PIECE_CHARS) {
      this.flush();
      this.splitElement(element);
      return;
    }
    const isBlock = BLOCK_TAGS.has(element.tagName);
    if (this.current.length + size > PIECE_CHARS) {
      if (isBlock || this.endsAtBlock) {
        this.flush();
      } else if (this.line >= LONG_LINE_CHARS) {
        if (this.mayCutLine(startsWithSpace(element))) {
          this.flush();
        } else if (TRANSPARENT_TAGS.has(element.tagName)) {
          // Its tag means nothing to the converter: add its content instead, to cut in there.
          for (const child of element.childNodes) {
            if (child instanceof TextNode) this.addText(child.rawText);
            else if (child instanceof HTMLElement) this.addElement(child, undefined);
          }
          return;
        }
      }
    }
    if (numbered) list.first ??= list.item;
    this.current += element.toString();
    this.endsAtBlock = isBlock;
    this.tail = isBlock ? 'sentence' : tailOf(element, this.tail);
    this.line = isBlock ? 0 : this.line + size;
  }

  /** What a cut between `current` and the next node would fall on. */
  private boundary(nextStartsWithSpace: boolean): 'sentence' | 'space' | 'word' {
    if (this.tail === 'sentence' || (this.tail === 'stop' && nextStartsWithSpace)) {
      return 'sentence';
    }
    return this.tail === 'space' || nextStartsWithSpace ? 'space' : 'word';
  }

  /**
   * Whether a full piece may end here, before the next element, in the middle of a long line: at
   * a sentence end; at a space once it is a quarter over full; anywhere once it is twice full (a
   * line of markup without spaces).
   */
  private mayCutLine(nextStartsWithSpace: boolean): boolean {
    const boundary = this.boundary(nextStartsWithSpace);
    const length = this.current.length;
    if (boundary === 'sentence') return true;
    if (boundary === 'space') return length >= OVERFULL_CHARS;
    return length >= 2 * PIECE_CHARS;
  }

  /** Adds raw (still entity-escaped) text; a long line is cut in it as pieces fill. */
  private addText(raw: string): void {
    if (this.endsAtBlock && this.current.length + raw.length > PIECE_CHARS) this.flush();
    let rest = raw;
    while (
      this.current.length + rest.length > PIECE_CHARS &&
      this.line + rest.length >= LONG_LINE_CHARS
    ) {
      const cut = this.lineCut(rest);
      if (cut > 0) {
        this.current += rest.slice(0, cut);
        rest = rest.slice(cut);
      } else if (cut < 0 && this.current.length < 2 * PIECE_CHARS) {
        break;
      }
      this.flush();
    }
    if (rest === '') return;
    this.current += rest;
    this.endsAtBlock = false;
    this.tail = tailOfText(rest, this.tail);
    this.line += rest.length;
  }

  /**
   * Where to cut a long line in `text`, which does not fit in the piece: an offset into it, `0`
   * to cut before it, `-1` for not here. At the last sentence end that fits (and leaves the piece
   * at least half full), else before the text if that is a sentence end, else at the first
   * sentence end that overfills the piece by up to a quarter. Failing those, when the text fits
   * in that quarter, not here: a sentence may end in what follows. Else at the last space that
   * fits, before the text if that is a space, or at the first space. Cuts only at white space, so
   * no word or entity is split.
   */
  private lineCut(text: string): number {
    const length = this.current.length;
    const room = PIECE_CHARS - length;
    let space = -1;
    for (let index = Math.min(room, text.length - 1); index > room - PIECE_CHARS / 2; index--) {
      if (index < 1) break;
      if (!isSpace(text.charCodeAt(index))) continue;
      if (isStop(text.charCodeAt(index - 1))) return index + 1;
      if (space === -1) space = index + 1;
    }
    const boundary =
      length >= PIECE_CHARS / 2 ? this.boundary(isSpace(text.charCodeAt(0))) : 'word';
    if (boundary === 'sentence') return 0;
    const from = Math.max(room, 0);
    const stop = SENTENCE_END.exec(text.slice(from, from + PIECE_CHARS / 4));
    if (stop !== null) return from + stop.index + stop[0].length;
    if (length + text.length <= OVERFULL_CHARS) return -1;
    if (space !== -1) return space;
    if (boundary === 'space') return 0;
    SPACE.lastIndex = from;
    const next = SPACE.exec(text);
    return next === null ? -1 : next.index + 1;
  }

  private frameFor(element: HTMLElement): Frame | undefined {
    const tag = element.tagName;
    if (tag === 'OL') return new ListFrame();
    // Only the first piece of a list item has its bullet, and of a heading is the heading: the
    // rest follows in the list, or as text.
    const firstOnly = tag === 'LI' || HEADING_TAGS.has(tag);
    if (!firstOnly && !WRAPPER_TAGS.has(tag)) return undefined;
    return new TagFrame(element.rawTagName, firstOnly);
  }

  /**
   * Cuts a long table between rows. Every piece repeats the first row, which the converter makes
   * the header, so each part still says what its columns are. A row, header or caption too long
   * for a piece is converted as plain blocks, cell by cell.
   */
  private splitTable(table: HTMLElement): void {
    let caption: HTMLElement | undefined;
    const rows: HTMLElement[] = [];
    for (const child of table.childNodes) {
      if (!(child instanceof HTMLElement)) continue;
      if (child.tagName === 'CAPTION') caption = child;
      else if (child.tagName === 'TR') rows.push(child);
      else if (TABLE_SECTION_TAGS.has(child.tagName)) {
        for (const row of child.childNodes) {
          if (row instanceof HTMLElement && row.tagName === 'TR') rows.push(row);
        }
      }
    }
    const [header, ...body] = rows;
    const headerFits = header !== undefined && this.size(header) <= PIECE_CHARS;
    // The caption goes in the first piece, if there is one to carry it; else before, as text.
    let captionHtml = '';
    if (caption !== undefined) {
      if (headerFits && body.length > 0 && this.size(caption) <= PIECE_CHARS) {
        captionHtml = caption.toString();
      } else {
        this.splitElement(caption);
      }
    }
    if (header === undefined) return;
    let headerHtml = '';
    if (headerFits && body.length > 0) headerHtml = header.toString();
    else this.splitRow(header);
    let piece = '';
    let shown = false;
    // `force` shows the header even without rows, before a row that is converted as blocks.
    const emit = (force: boolean) => {
      if (piece === '' && (shown || !force)) return;
      this.current = `<table>${captionHtml}${headerHtml}${piece}</table>`;
      this.flush();
      captionHtml = '';
      piece = '';
      shown = true;
    };
    for (const row of body) {
      const size = this.size(row);
      if (size > PIECE_CHARS) {
        emit(true);
        this.splitRow(row);
        continue;
      }
      if (piece !== '' && piece.length + size > PIECE_CHARS) emit(false);
      piece += row.toString();
    }
    emit(false);
  }

  /** A table row as plain blocks, cell by cell (or whole, when it fits). */
  private splitRow(row: HTMLElement): void {
    if (this.size(row) <= PIECE_CHARS) {
      this.current = `<table>${row.toString()}</table>`;
      this.flush();
      return;
    }
    for (const cell of row.childNodes) {
      if (cell instanceof HTMLElement) this.splitElement(cell);
    }
  }

  /**
   * A long `<pre>` (one `<code>` of text after `flattenPre`) as several code blocks, cut at line
   * ends. `false` when it has some other shape.
   */
  private splitPre(pre: HTMLElement): boolean {
    const code = pre.childNodes.length === 1 ? pre.childNodes[0] : undefined;
    if (!(code instanceof HTMLElement) || code.tagName !== 'CODE') return false;
    const text = code.childNodes.length === 1 ? code.childNodes[0] : undefined;
    if (!(text instanceof TextNode)) return false;
    const raw = text.rawText;
    let start = 0;
    while (start < raw.length) {
      let end = raw.length;
      if (end - start > PIECE_CHARS) {
        // The last line end that fits; else the first after (one long line stays whole).
        const before = raw.lastIndexOf('\n', start + PIECE_CHARS);
        const after = raw.indexOf('\n', start + PIECE_CHARS);
        end = before > start ? before : after === -1 ? raw.length : after;
      }
      this.current = `<pre><code>${raw.slice(start, end)}</code></pre>`;
      this.flush();
      start = end + 1;
    }
    return true;
  }
}

/** Repeats an element's tag around each piece of its content, or only the first. */
class TagFrame implements Frame {
  private readonly tag: string;
  private readonly firstOnly: boolean;
  private used = false;

  constructor(tag: string, firstOnly: boolean) {
    this.tag = tag;
    this.firstOnly = firstOnly;
  }

  wrap(html: string): string {
    return this.firstOnly && this.used ? html : `<${this.tag}>${html}</${this.tag}>`;
  }

  reset(): void {
    this.used = true;
  }
}

/** Keeps an ordered list's numbering across pieces. */
class ListFrame implements Frame {
  /** The number of the item being added, counting as the converter does. */
  item = 0;
  /** The number of the first item in the current piece, if one has started. */
  first: number | undefined;

  wrap(html: string): string {
    const start = this.first ?? this.item;
    return start > 1 ? `<ol start="${start}">${html}</ol>` : `<ol>${html}</ol>`;
  }

  reset(): void {
    this.first = undefined;
  }
}

/**
 * How a run of text ends: a sentence end and a space, a sentence end (`.`, `!`, `?`, `;` or `:`),
 * a space, or a word.
 */
type Tail = 'sentence' | 'stop' | 'space' | 'word';

/** How the text so far ends once `raw` is added to text that ended as `before`. */
function tailOfText(raw: string, before: Tail): Tail {
  let index = raw.length - 1;
  while (index >= 0 && isSpace(raw.charCodeAt(index))) index--;
  const spaced = index < raw.length - 1;
  if (index < 0) {
    if (!spaced) return before;
    return before === 'sentence' || before === 'stop' ? 'sentence' : 'space';
  }
  if (isStop(raw.charCodeAt(index))) return spaced ? 'sentence' : 'stop';
  return spaced ? 'space' : 'word';
}

/** How the text so far ends once `element` is added (a line break or a block ends a sentence). */
function tailOf(element: HTMLElement, before: Tail): Tail {
  let node: Node | undefined = element;
  while (node instanceof HTMLElement) {
    if (node.tagName === 'BR' || BLOCK_TAGS.has(node.tagName)) return 'sentence';
    node = node.childNodes.at(-1);
  }
  return node instanceof TextNode ? tailOfText(node.rawText, before) : before;
}

/** Whether an element's text starts with a space (or a line break or a block). */
function startsWithSpace(element: HTMLElement): boolean {
  let node: Node | undefined = element;
  while (node instanceof HTMLElement) {
    if (node.tagName === 'BR' || BLOCK_TAGS.has(node.tagName)) return true;
    node = node.childNodes[0];
  }
  return node instanceof TextNode && isSpace(node.rawText.charCodeAt(0));
}

/** A list item the converter drops, and does not number: one with only white space. */
function isBlank(element: HTMLElement): boolean {
  return !/\S/.test(textOf(element));
}

const SENTENCE_END = /[.!?;:][ \t\n\r\f]/;
const SPACE = /[ \t\n\r\f]/g;

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12;
}

/** `.`, `!`, `?`, `;` or `:`. */
function isStop(code: number): boolean {
  return code === 46 || code === 33 || code === 63 || code === 59 || code === 58;
}

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
    // Not `/\s*\n\s*/`, which backtracks over every long run of spaces without a line break.
    raw = raw.replace(/\s+/g, (space) => (space.includes('\n') ? ' ' : space));
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
  const code = newElement('code', pre);
  // A newline right after <pre> is not content in HTML; trailing blank lines only pad the fence.
  let text = rawTextOf(pre)
    .replace(/^(?:[ \t]*\r?\n)+/, '')
    .trimEnd();
  if (inTable) text = text.replaceAll('|', PIPE_STAND_IN);
  code.childNodes = [new TextNode(text, code)];
  pre.childNodes = [code];
}

/** A node's raw (entity-escaped) text, `<br>` as a line break; without recursion. */
function rawTextOf(node: Node): string {
  const parts: string[] = [];
  const stack: Node[] = [node];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (next instanceof TextNode) {
      parts.push(next.rawText);
    } else if (next instanceof HTMLElement) {
      if (next.tagName === 'BR') parts.push('\n');
      else for (const child of next.childNodes.toReversed()) stack.push(child);
    }
  }
  return parts.join('');
}

/** A node's decoded text, as `HTMLElement.text` gives it, without its recursion. */
function textOf(node: Node): string {
  return new TextNode(rawTextOf(node)).text;
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
