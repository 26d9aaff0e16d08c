import type { Hit } from '../core/types.ts';
import { contentStems } from '../embeddings/local-hash-embeddings.ts';
import type { Generator, GeneratorOutput } from './generator.ts';

/** Sentences quoted in one answer. */
const maxSentences = 3;
const minSentenceWords = 4;
const maxSentenceWords = 80;

export const extractiveGeneratorName = 'extractive';

export const nothingFoundAnswer = 'I could not find anything about this in the indexed documents.';

/**
 * The answer without a language model: the sentences of the retrieved passages that share
 * the most words with the question, each followed by its [n] citation, streamed word by word.
 * It quotes; it does not paraphrase or reason — `meta.generator` says `extractive` so clients
 * can show that.
 *
 * @example
 * for await (const output of createExtractiveGenerator().generate({ question, sources, history: [], signal })) …
 */
export function createExtractiveGenerator(): Generator {
  return {
    name: extractiveGeneratorName,
    async *generate(input): AsyncGenerator<GeneratorOutput> {
      const answer = extractAnswer(input.question, input.sources);
      const words = answer.split(' ');
      const limit = input.options?.maxTokens ?? words.length;
      for (const [index, word] of words.slice(0, limit).entries()) {
        input.signal.throwIfAborted();
        yield { type: 'token', text: index === 0 ? word : ` ${word}` };
      }
      yield { type: 'finish', finishReason: words.length > limit ? 'length' : 'stop' };
    },
  };
}

interface Candidate {
  text: string;
  citation: number;
  score: number;
}

/** The quoted sentences with citations, best first. */
export function extractAnswer(question: string, sources: readonly Hit[]): string {
  const questionStems = new Set(contentStems(question));
  const candidates: Candidate[] = [];
  const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
  for (const [index, source] of sources.entries()) {
    // Paragraph by paragraph: a heading or a list item without a full stop is not run into
    // the sentence after it.
    const sentences = source.content
      .split(/\n\s*\n/)
      .flatMap((paragraph) => [...segmenter.segment(plainText(paragraph))]);
    for (const { segment } of sentences) {
      const text = segment.trim();
      const wordCount = text.split(/\s+/).length;
      if (wordCount < minSentenceWords || wordCount > maxSentenceWords) continue;
      const matched = new Set(contentStems(text).filter((stem) => questionStems.has(stem)));
      // Ties go to the better-ranked source.
      candidates.push({ text, citation: index + 1, score: matched.size - index * 0.01 });
    }
  }
  const chosen = candidates
    .filter((candidate) => candidate.score > 0)
    .sort((left, right) => right.score - left.score)
    .slice(0, maxSentences);
  if (chosen.length === 0) {
    const first = candidates.find((candidate) => candidate.citation === 1);
    if (first === undefined) return nothingFoundAnswer;
    chosen.push(first);
  }
  return chosen.map((candidate) => cite(candidate.text, candidate.citation)).join(' ');
}

/** Markdown reduced to prose: no heading marks, emphasis stars, table pipes or code blocks. */
function plainText(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?(```|$)/g, ' ')
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+/gm, '')
    .replace(/[*`|]+/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, ' ');
}

/** The citation before the sentence's final stop: "… without locking out writes [1]." */
function cite(sentence: string, citation: number): string {
  const match = /^(.*?)([.!?:;]*)$/s.exec(sentence);
  const body = match?.[1] ?? sentence;
  const stop = match?.[2] === '!' || match?.[2] === '?' ? match[2] : '.';
  return `${body} [${citation}]${stop}`;
}
