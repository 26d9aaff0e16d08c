import { stat } from 'node:fs/promises';
import { loadPaths } from '../../src/ingest/load-files.ts';
import { createSplitter, type SplitOptions } from '../../src/ingest/split.ts';

/** Debian's postgresql-doc-15: ~1,170 HTML pages of the PostgreSQL manual. */
export const defaultManualDirectory = '/usr/share/doc/postgresql-doc-15/html';

export interface ManualPage {
  path: string;
  source: string;
  title: string;
  chunks: string[];
}

export interface ManualCorpus {
  directory: string;
  pages: ManualPage[];
  /** Time spent reading files and reducing HTML to Markdown (loadPaths), whole manual. */
  loadSeconds: number;
  splitSeconds: number;
}

/**
 * Loads and splits the whole manual once, timing each stage. This pass also warms the page
 * cache, so every ingestion run afterwards reads the same files from memory.
 */
export async function loadManual(
  directory: string,
  options: SplitOptions & { maxFileBytes: number },
): Promise<ManualCorpus> {
  if (!(await stat(directory).catch(() => undefined))?.isDirectory()) {
    throw new Error(
      `The benchmark corpus ${directory} is missing: apt-get install -y postgresql-doc-15 (or set BENCH_CORPUS to a directory of HTML/Markdown files)`,
    );
  }
  const split = createSplitter(options);
  const pages: ManualPage[] = [];
  let loadMilliseconds = 0;
  let splitMilliseconds = 0;
  const results = loadPaths([directory], { maxFileBytes: options.maxFileBytes });
  while (true) {
    const loadStarted = performance.now();
    const next = await results.next();
    loadMilliseconds += performance.now() - loadStarted;
    if (next.done) break;
    if (next.value.kind !== 'document') continue;
    const { document } = next.value;
    const splitStarted = performance.now();
    const chunks = await split(document.text, document.format);
    splitMilliseconds += performance.now() - splitStarted;
    if (chunks.length === 0) continue;
    pages.push({ path: next.value.path, source: document.source, title: document.title, chunks });
  }
  return {
    directory,
    pages,
    loadSeconds: loadMilliseconds / 1000,
    splitSeconds: splitMilliseconds / 1000,
  };
}

export function chunkCount(pages: readonly ManualPage[]): number {
  return pages.reduce((sum, page) => sum + page.chunks.length, 0);
}

/**
 * Pages spread evenly over the manual (every n-th file in the loader's order) until they hold
 * at least `targetChunks` chunks, so the sample is not just the alphabetically first pages.
 */
export function selectPages(corpus: ManualCorpus, targetChunks: number): ManualPage[] {
  const total = chunkCount(corpus.pages);
  const stride = Math.max(1, Math.floor(total / targetChunks));
  const selected: ManualPage[] = [];
  let chunks = 0;
  for (let offset = 0; offset < stride && chunks < targetChunks; offset++) {
    for (
      let index = offset;
      index < corpus.pages.length && chunks < targetChunks;
      index += stride
    ) {
      const page = corpus.pages[index] as ManualPage;
      selected.push(page);
      chunks += page.chunks.length;
    }
  }
  return selected;
}

/** One row of the large search data set, before embedding. */
export interface SearchRow {
  /** Rows with the same document key belong to one document. */
  documentKey: string;
  title: string;
  ordinal: number;
  content: string;
}

/**
 * `count` realistic chunks: every chunk of the manual once, then spliced chunks (the first half
 * of one chunk's sentences followed by the second half of another's, pairs drawn at random), so
 * that rows are distinct and no chunk gets a cluster of near-copies around it.
 */
export function searchRows(corpus: ManualCorpus, count: number): SearchRow[] {
  const flat = corpus.pages.flatMap((page) => page.chunks);
  const random = seededRandom(7_919);
  const rows: SearchRow[] = [];
  for (let variant = 0; rows.length < count; variant++) {
    for (const page of corpus.pages) {
      const documentKey = variant === 0 ? page.source : `${page.source}#variant-${variant}`;
      page.chunks.forEach((chunk, ordinal) => {
        if (rows.length >= count) return;
        const content =
          variant === 0 ? chunk : splice(chunk, flat[Math.floor(random() * flat.length)] as string);
        rows.push({ documentKey, title: page.title, ordinal, content });
      });
      if (rows.length >= count) break;
    }
  }
  return rows;
}

function sentencesOf(text: string): string[] {
  return text
    .split(/(?<=[.!?:])\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

function splice(first: string, second: string): string {
  const head = sentencesOf(first);
  const tail = sentencesOf(second);
  const joined = [
    ...head.slice(0, Math.ceil(head.length / 2)),
    ...tail.slice(Math.floor(tail.length / 2)),
  ].join(' ');
  return joined === '' ? first : joined;
}

/** Questions a user of the manual might ask; the rest of the query set is sampled sentences. */
const writtenQuestions = [
  'How do I build an index without locking out writes?',
  'create index concurrently',
  'How does autovacuum decide when to vacuum a table?',
  'What is the difference between VACUUM and VACUUM FULL?',
  'How do I set up streaming replication?',
  'What does the checkpoint_timeout setting control?',
  'How can I see which queries are running right now?',
  'pg_stat_activity wait_event',
  'How do I restore a database from a pg_dump archive?',
  'point-in-time recovery with WAL archiving',
  'What isolation levels does PostgreSQL support?',
  'serializable snapshot isolation anomalies',
  'How do I create a partitioned table?',
  'row level security policy example',
  'How do I grant read-only access to all tables in a schema?',
  'What is a TOAST table?',
  'jsonb containment operator and GIN index',
  'How do I write a trigger function in PL/pgSQL?',
  'explain analyze buffers output',
  'Why is my query not using an index?',
  'How large should shared_buffers be?',
  'work_mem and sorting to disk',
  'logical replication publication subscription',
  'How do I upgrade to a new major version with pg_upgrade?',
  'full text search ranking with ts_rank',
  'to_tsvector configuration english',
  'What happens when transaction IDs wrap around?',
  'How do I change the owner of a database?',
  'listen notify asynchronous notifications',
  'How do advisory locks work?',
  'foreign data wrapper postgres_fdw',
  'generated columns stored',
  'How do I copy a CSV file into a table?',
  'COPY FROM STDIN format csv header',
  'sequence nextval currval setval',
  'How are NULL values sorted in ORDER BY?',
  'window functions row_number over partition',
  'recursive common table expression',
  'pg_hba.conf authentication methods',
  'How do I enable SSL connections?',
];

/** Deterministic pseudo-random numbers (mulberry32), so every run asks the same questions. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` queries: the written questions, then sentences sampled from the manual. */
export function benchmarkQuestions(corpus: ManualCorpus, count: number): string[] {
  const questions = writtenQuestions.slice(0, count);
  const random = seededRandom(20_240_601);
  const flat = corpus.pages.flatMap((page) => page.chunks);
  const seen = new Set(questions);
  for (let attempt = 0; questions.length < count && attempt < count * 100; attempt++) {
    const chunk = flat[Math.floor(random() * flat.length)] as string;
    const candidates = sentencesOf(chunk.replace(/[`#*|_]/g, ' ')).filter((sentence) => {
      // Real words, not table rules or punctuation (which would embed to a zero vector).
      const words = sentence.match(/\p{L}{2,}/gu)?.length ?? 0;
      return words >= 5 && words <= 30;
    });
    const sentence = candidates[Math.floor(random() * candidates.length)];
    if (sentence === undefined || seen.has(sentence)) continue;
    seen.add(sentence);
    questions.push(sentence);
  }
  return questions;
}
