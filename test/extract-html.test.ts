import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BadFileError } from '../src/core/errors.ts';
import { extractHtml } from '../src/ingest/extract-html.ts';

function page(body: string, head = '<title>Page</title>'): string {
  return `<!DOCTYPE html><html><head>${head}</head><body>${body}</body></html>`;
}

describe('extractHtml', () => {
  it('turns headings, paragraphs and lists into Markdown', () => {
    const { title, markdown } = extractHtml(
      page(
        '<h1>Indexes</h1><p>An index makes lookups fast.</p>' +
          '<h2>Types</h2><ul><li>B-tree</li><li>Hash</li></ul><h3>Notes</h3><p>Last.</p>',
        '<title>Indexes in PostgreSQL</title>',
      ),
    );
    expect(title).toBe('Indexes in PostgreSQL');
    expect(markdown).toBe(
      '# Indexes\n\nAn index makes lookups fast.\n\n## Types\n\n* B-tree\n* Hash\n\n### Notes\n\nLast.',
    );
  });

  it('decodes entities in the text and the title', () => {
    const { title, markdown } = extractHtml(
      page(
        '<p>a &lt; b &amp;&amp; c &gt; d &mdash; caf&eacute; &#8220;q&#8221;&nbsp;x</p>',
        '<title>Fish &amp; Chips</title>',
      ),
    );
    expect(title).toBe('Fish & Chips');
    expect(markdown).toBe('a < b && c > d — café “q” x');
  });

  it('drops scripts, styles, templates, svg and hidden elements', () => {
    const { markdown } = extractHtml(
      page(
        '<script>var secret = "SCRIPT";</script><style>p { color: red } /* STYLE */</style>' +
          '<noscript>NOSCRIPT</noscript><template><p>TEMPLATE</p></template>' +
          '<svg><text>SVG</text></svg><p>Visible</p><div hidden>HIDDEN</div>' +
          '<div aria-hidden="true">ARIA</div><span style="display: none">NONE</span>' +
          '<SCRIPT>UPPER</script>',
        '<title>T</title><style>HEADSTYLE</style><script>HEADSCRIPT</script>',
      ),
    );
    expect(markdown).toBe('Visible');
  });

  it('drops navigation, page header and footer, asides and form controls', () => {
    const { markdown } = extractHtml(
      page(
        '<header><a href="/">Site name</a></header><nav><a href="/a">Home</a></nav>' +
          '<div role="navigation">Role nav</div><div class="navheader">Prev Up Next</div>' +
          '<ol class="breadcrumb"><li>Docs</li></ol><div class="toc"><a href="#x">Contents</a></div>' +
          '<p>Body text.</p><aside>Related posts</aside>' +
          '<form><label>Search</label><input value="query"><button>Go</button>' +
          '<select><option>One</option></select><textarea>Typed</textarea></form>' +
          '<div class="navfooter">Prev Next</div><footer>Copyright</footer>',
      ),
    );
    expect(markdown).toBe('Body text.');
  });

  it('keeps content whose class only resembles a navigation class', () => {
    const { markdown } = extractHtml(
      page('<div class="toctree-wrapper navigational-note">Kept</div><p class="tocs">Also</p>'),
    );
    expect(markdown).toBe('Kept\n\nAlso');
  });

  it('prefers <main> to the rest of the body, keeping an article header', () => {
    const html = page(
      '<div class="banner">Welcome banner</div>' +
        '<main><article><header><h1>Post title</h1></header><p>Post body.</p>' +
        '<footer>Share this</footer></article></main><div>Unrelated</div>',
    );
    expect(extractHtml(html).markdown).toBe('# Post title\n\nPost body.');
  });

  it('prefers a single <article>, or [role=main]', () => {
    expect(extractHtml(page('<div>Chrome</div><article><p>Story</p></article>')).markdown).toBe(
      'Story',
    );
    expect(extractHtml(page('<div>Chrome</div><div role="main"><p>Main</p></div>')).markdown).toBe(
      'Main',
    );
    expect(
      extractHtml(page('<article><p>One</p></article><article><p>Two</p></article>')).markdown,
    ).toBe('One\n\nTwo');
  });

  it('takes the title from the first <h1> when there is no <title>, else null', () => {
    expect(extractHtml(page('<h2>Sub</h2><h1>Main heading</h1>', '')).title).toBe('Main heading');
    expect(extractHtml(page('<p>No heading</p>', '')).title).toBeNull();
    expect(extractHtml('<p>Just a fragment</p>')).toEqual({
      title: null,
      markdown: 'Just a fragment',
    });
  });

  it('keeps link text but not URLs, and drops images and their data', () => {
    const { markdown } = extractHtml(
      page(
        '<p>See <a href="https://example.com/docs?page=1" title="Docs">the docs</a> and ' +
          '<a href="https://example.com">https://example.com</a>.</p>' +
          '<p><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAUA" alt="chart">' +
          '<img src="/logo.png" alt="Logo">Caption</p>' +
          '<table><tr><th>Name</th></tr><tr><td><a href="/x.html">Linked cell</a></td></tr></table>',
      ),
    );
    expect(markdown).toBe(
      'See the docs and https://example.com.\n\nCaption\n\n| Name |\n| --- |\n| Linked cell |',
    );
  });

  it('writes <pre> as a fenced block and keeps body text from posing as a heading', () => {
    const { markdown } = extractHtml(
      page(
        '<p># not a heading</p><pre class="programlisting">\n# a shell comment\n' +
          '<em class="replaceable"><code>cmd</code></em> --flag &lt;file&gt;\n\n</pre>' +
          '<p>Use <code>work_mem</code> and <em class="replaceable"><code>name</code></em>.</p>',
      ),
    );
    expect(markdown).toBe(
      '\\# not a heading\n\n```\n# a shell comment\ncmd --flag <file>\n```\n\n' +
        'Use `work_mem` and `name`.',
    );
  });

  it('leaves Markdown characters in text unescaped, so words stay searchable', () => {
    const { markdown } = extractHtml(
      page('<p>Set pg_stat_statements.max to 5_000 * 2 [default].</p><p>1. Then - or > then.</p>'),
    );
    expect(markdown).toBe(
      'Set pg_stat_statements.max to 5_000 * 2 [default].\n\n1. Then - or > then.',
    );
  });

  it('keeps the space between a link and the text after a line break', () => {
    const { markdown } = extractHtml(
      page('<p>\n  use <a href="d.html"><code>DELETE</code></a>\n  or <b>TRUNCATE</b>\n  now.</p>'),
    );
    expect(markdown).toBe('use `DELETE` or **TRUNCATE** now.');
  });

  it('collapses runs of blank lines and trailing spaces', () => {
    const { markdown } = extractHtml(
      page('<p>One</p><div><div><p></p><br><br><br></div></div><p>Two<br>Three</p>'),
    );
    expect(markdown).toBe('One\n\nTwo\nThree');
    expect(markdown).not.toMatch(/\n\n\n| +\n/);
  });

  it('keeps pipes inside table cells as escaped pipes', () => {
    const { markdown } = extractHtml(
      page(
        '<table><thead><tr><th>Operator</th><th>Example</th></tr></thead>' +
          "<tbody><tr><td><code>text || text</code></td><td>'a' || 'b' → ab</td></tr></tbody></table>",
      ),
    );
    expect(markdown).toBe(
      "| Operator | Example |\n| --- | --- |\n| text \\|\\| text | 'a' \\|\\| 'b' → ab |",
    );
  });

  it('converts a long page in pieces without losing or reordering text', () => {
    const items = Array.from({ length: 10_000 }, (_, index) => `<li>item ${index}</li>`).join('');
    const rows = Array.from(
      { length: 5000 },
      (_, index) => `<tr><td>row ${index}</td><td>value ${index}</td></tr>`,
    ).join('');
    const sections = Array.from(
      { length: 600 },
      (_, index) =>
        `<div><h2>Section ${index}</h2><p>Paragraph ${index} ${'word '.repeat(200)}</p></div>`,
    ).join('');
    const html = page(
      `<ul>${items}</ul><table><tr><th>Key</th><th>Value</th></tr>${rows}</table>${sections}`,
    );
    expect(html.length).toBeGreaterThan(1_000_000);

    const started = performance.now();
    const { markdown } = extractHtml(html);
    // In one piece the converter takes about 8 s on this 1 MB page (its time is quadratic);
    // in pieces about 0.4 s.
    expect(performance.now() - started).toBeLessThan(3_000);

    const itemLines = markdown.split('\n').filter((line) => line.startsWith('* item '));
    expect(itemLines).toEqual(Array.from({ length: 10_000 }, (_, index) => `* item ${index}`));
    const rowLines = markdown.split('\n').filter((line) => line.startsWith('| row '));
    expect(rowLines).toEqual(
      Array.from({ length: 5000 }, (_, index) => `| row ${index} | value ${index} |`),
    );
    // Every piece of the table repeats its header row.
    const headers = markdown.split('\n').filter((line) => line === '| Key | Value |');
    expect(headers.length).toBeGreaterThan(1);
    const headings = markdown.split('\n').filter((line) => line.startsWith('## Section '));
    expect(headings).toEqual(Array.from({ length: 600 }, (_, index) => `## Section ${index}`));
  });

  it('reads a page of the PostgreSQL manual', async () => {
    const html = await readFile(
      new URL('../samples/postgres-docs/sql-droptable.html', import.meta.url),
      'utf8',
    );
    const { title, markdown } = extractHtml(html);
    expect(title).toBe('DROP TABLE');
    expect(
      markdown.startsWith('## DROP TABLE\n\nDROP TABLE — remove a table\n\n## Synopsis\n\n```\n'),
    ).toBe(true);
    expect(markdown).toContain(
      '```\nDROP TABLE [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]\n```',
    );
    expect(markdown).toContain('use `DELETE` or `TRUNCATE`.');
    expect(markdown).toContain('\n## Parameters\n\n`IF EXISTS`\n\nDo not throw an error');
    expect(markdown).toContain('(see Section 5.14)');
    expect(markdown.endsWith('## See Also\n\nALTER TABLE, CREATE TABLE')).toBe(true);
    // The Prev/Up/Next/Home bars, the XML preamble and every URL are gone.
    expect(markdown).not.toMatch(/\b(Prev|Next|Home)\b|<\?xml|DOCTYPE|\.html|\]\(/);
    expect(markdown).not.toContain('SQL Commands');
  });
});

/** Repeats `unit(index)` until the text is at least `chars` long; also returns how many. */
function repeat(chars: number, unit: (index: number) => string): { html: string; count: number } {
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const part = unit(parts.length);
    parts.push(part);
    length += part.length;
  }
  return { html: parts.join(''), count: parts.length };
}

/** Inline markup as dense as real prose gets: a text node, a bold word and a link per 50 chars. */
const sentence = (index: number) => `Word${index} is <b>bold</b> and <a href="/x">linked</a>. `;

/** The numbers of the `name123` tokens in the text, in order. */
function numbered(markdown: string, name: string): number[] {
  return Array.from(markdown.matchAll(new RegExp(`\\b${name}(\\d+)\\b`, 'g')), (m) => Number(m[1]));
}

const upTo = (count: number) => Array.from({ length: count }, (_, index) => index);

// Shapes whose conversion took time quadratic in their size: at 1 MB a paragraph took 45 s, an
// <ol> 38 s, a <blockquote> 29 s, a page of small <svg>s 28 s; 250 kB of unclosed tags 31 s;
// 4,000 nested <div>s overflowed the stack. Each now takes well under a second; the generous
// time limits only keep a regression from stalling the run.
describe('extractHtml on pathological pages', () => {
  it('cuts a 1 MB paragraph of inline markup into pieces, keeping every word', {
    timeout: 20_000,
  }, () => {
    const { html, count } = repeat(1_000_000, sentence);
    const { markdown } = extractHtml(page(`<p>${html}</p>`));
    expect(numbered(markdown, 'Word')).toEqual(upTo(count));
    expect(markdown).toContain('Word7 is **bold** and linked. Word8');
    const paragraphs = markdown.split('\n\n');
    expect(paragraphs.length).toBeGreaterThan(50);
    // Cut only at sentence ends (after "linked."), though most nodes end or start mid-sentence.
    for (const paragraph of paragraphs) expect(paragraph).toMatch(/^Word\d+ .*\.$/);
  });

  it('cuts a long text node at sentence ends', { timeout: 20_000 }, () => {
    const { html, count } = repeat(1_000_000, (index) => `Sentence number${index} ends here. `);
    const { markdown } = extractHtml(page(`<div><p>${html}</p></div>`));
    expect(numbered(markdown, 'number')).toEqual(upTo(count));
    const paragraphs = markdown.split('\n\n');
    expect(paragraphs.length).toBeGreaterThan(50);
    for (const paragraph of paragraphs) expect(paragraph).toMatch(/^Sentence .* here\.$/);
  });

  it('numbers a 500 kB ordered list right across pieces', { timeout: 20_000 }, () => {
    const { html, count } = repeat(
      500_000,
      (index) => `\n<li>item${index} with <code>code</code> and <em>stress</em></li>`,
    );
    const { markdown } = extractHtml(page(`<ol>${html}</ol>`));
    const items = markdown.split('\n').filter((line) => line !== '');
    expect(items).toHaveLength(count);
    items.forEach((line, index) => {
      expect(line).toBe(`${index + 1}. item${index} with \`code\` and _stress_`);
    });
  });

  it('keeps every piece of a 500 kB block quote quoted', { timeout: 20_000 }, () => {
    const { html, count } = repeat(500_000, (index) => `<p>quote${index} <em>said</em> this</p>`);
    const { markdown } = extractHtml(page(`<blockquote>${html}</blockquote><p>After.</p>`));
    expect(numbered(markdown, 'quote')).toEqual(upTo(count));
    const lines = markdown.split('\n').filter((line) => line !== '');
    expect(lines.pop()).toBe('After.');
    for (const line of lines) expect(line).toMatch(/^>( quote\d+ _said_ this)?$/);
  });

  it('continues a long list item and a long heading as text after their first piece', () => {
    const { html, count } = repeat(30_000, sentence);
    const { markdown } = extractHtml(
      page(`<ul><li>first</li><li>${html}</li><li>last</li></ul><h2>${html}</h2><p>end</p>`),
    );
    expect(numbered(markdown, 'Word')).toEqual([...upTo(count), ...upTo(count)]);
    const blocks = markdown.split('\n\n');
    expect(blocks[0]).toBe('* first');
    expect(blocks[1]).toMatch(/^\* Word0 is \*\*bold\*\* and linked\./);
    expect(blocks.filter((block) => block.startsWith('* '))).toHaveLength(3);
    expect(blocks.filter((block) => block.startsWith('## '))).toHaveLength(1);
    expect(blocks.at(-1)).toBe('end');
  });

  it('converts a table row too long for a piece as text, keeping the header', () => {
    const { html, count } = repeat(30_000, sentence);
    const rows = upTo(600)
      .map((index) => `<tr><td>row${index}</td><td>value</td></tr>`)
      .join('');
    const { markdown } = extractHtml(
      page(
        `<table><tr><th>Key</th><th>Value</th></tr>${rows}<tr><td>big</td><td>${html}</td></tr></table>`,
      ),
    );
    expect(numbered(markdown, 'row')).toEqual(upTo(600));
    expect(numbered(markdown, 'Word')).toEqual(upTo(count));
    expect(
      markdown.split('\n').filter((line) => line === '| Key | Value |').length,
    ).toBeGreaterThan(1);
  });

  it('cuts long code at line ends', () => {
    const lines = upTo(5000).map((index) => `SELECT ${index} AS line${index};`);
    const { markdown } = extractHtml(page(`<pre>${lines.join('\n')}</pre>`));
    expect(markdown.split('\n').filter((line) => line.startsWith('SELECT'))).toEqual(lines);
    expect(markdown.split('\n').filter((line) => line === '```').length).toBeGreaterThan(2);
  });

  it('flattens nesting thousands deep instead of overflowing the stack', () => {
    const depth = 5000;
    const divs = upTo(depth)
      .map((index) => `<div>level${index}`)
      .join('');
    const { markdown } = extractHtml(page(`${divs}${'</div>'.repeat(depth)}<p>after</p>`));
    expect(numbered(markdown, 'level')).toEqual(upTo(depth));
    expect(markdown.endsWith('after')).toBe(true);
  });

  it('bounds how deep lists and quotes indent', () => {
    const depth = 1000;
    const quotes = upTo(depth)
      .map((index) => `<blockquote><p>quote${index}</p>`)
      .join('');
    const lists = upTo(depth)
      .map((index) => `<ul><li>item${index}`)
      .join('');
    const { markdown } = extractHtml(
      page(`${quotes}${'</blockquote>'.repeat(depth)}${lists}${'</li></ul>'.repeat(depth)}`),
    );
    expect(numbered(markdown, 'quote')).toEqual(upTo(depth));
    expect(numbered(markdown, 'item')).toEqual(upTo(depth));
    // Eight levels of quotes and lists at most, rather than a Markdown page hundreds of times the
    // size of its HTML.
    expect(Math.max(...markdown.split('\n').map((line) => /^>*/.exec(line)?.[0].length ?? 0))).toBe(
      8,
    );
    expect(markdown).toContain(`${'  '.repeat(7)}* item7\n`);
    expect(markdown).not.toContain(`${'  '.repeat(8)}* item8`);
    expect(markdown.length).toBeLessThan(200_000);
  });

  it('parses many skipped elements and unclosed tags in linear time', { timeout: 20_000 }, () => {
    const svgs = repeat(500_000, (index) => `<p>icon${index}</p><SVG><path d="M0"/></SVG>`);
    expect(numbered(extractHtml(page(svgs.html)).markdown, 'icon')).toEqual(upTo(svgs.count));
    // Each <b> is left open, so the elements nest one level deeper each time.
    const unclosed = repeat(300_000, (index) => `<p>open${index} <b>bold`);
    expect(numbered(extractHtml(page(unclosed.html)).markdown, 'open')).toEqual(
      upTo(unclosed.count),
    );
  });

  it('gives up on a page that takes longer than its time limit', () => {
    const { html } = repeat(100_000, sentence);
    expect(() => extractHtml(page(`<p>${html}</p>`), { timeLimitMs: 0 })).toThrow(
      new BadFileError('HTML too complex to convert within 0 s'),
    );
    expect(extractHtml(page(`<p>${html}</p>`)).markdown).toContain('Word0 is **bold**');
  });
});
