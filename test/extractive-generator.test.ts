import { describe, expect, it } from 'vitest';
import {
  createExtractiveGenerator,
  extractAnswer,
  nothingFoundAnswer,
} from '../src/answer/extractive-generator.ts';
import type { Hit } from '../src/core/types.ts';

const hit = (content: string, id: string): Hit => ({
  id,
  content,
  documentId: id,
  title: `Title ${id}`,
  source: `${id}.md`,
  ordinal: 0,
  score: 1,
});

describe('the extractive generator', () => {
  const sources = [
    hit(
      '# Lighthouses\n\nA lighthouse keeper trimmed the wicks every night. The Fresnel lens focuses the lamp into a beam visible for miles.',
      '1',
    ),
    hit('Bread rises because yeast ferments sugars into gas. The oven must be hot.', '2'),
  ];

  it('quotes the sentences that share the most words with the question, citing each source', () => {
    expect(extractAnswer('How does the Fresnel lens focus a lighthouse lamp?', sources)).toBe(
      'The Fresnel lens focuses the lamp into a beam visible for miles [1]. ' +
        'A lighthouse keeper trimmed the wicks every night [1].',
    );
    expect(extractAnswer('Why does bread rise with yeast?', sources)).toBe(
      'Bread rises because yeast ferments sugars into gas [2].',
    );
  });

  it('does not run a heading into the sentence after it', () => {
    expect(extractAnswer('lighthouses', sources)).not.toMatch(/Lighthouses A lighthouse/);
  });

  it('says it found nothing when there are no sources', () => {
    expect(extractAnswer('anything', [])).toBe(nothingFoundAnswer);
  });

  it('streams the answer word by word and stops when aborted', async () => {
    const generator = createExtractiveGenerator();
    const controller = new AbortController();
    const texts: string[] = [];
    await expect(
      (async () => {
        for await (const output of generator.generate({
          question: 'Why does bread rise with yeast?',
          sources,
          history: [],
          signal: controller.signal,
        })) {
          if (output.type === 'token') texts.push(output.text);
          if (texts.length === 3) controller.abort(new Error('client went away'));
        }
      })(),
    ).rejects.toThrow('client went away');
    expect(texts).toEqual(['Bread', ' rises', ' because']);
  });
});
