/**
 * The chat page ships as a committed module of strings (`npm run build:ui`); these tests keep it
 * equal to its sources, and check the page's pure text helpers.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildChatAssetsModule, chatAssetsModulePath } from '../scripts/lib/build-chat-assets.ts';
import { splitCitations } from '../src/ui/browser/citation-text.ts';
import { toHistory } from '../src/ui/browser/conversation-history.ts';

describe('the generated chat assets', () => {
  it('are what src/ui/ builds to today (else: npm run build:ui, and commit the result)', async () => {
    const built = await buildChatAssetsModule();
    const committed = await readFile(chatAssetsModulePath, 'utf8');
    expect(
      committed === built,
      'src/ui/chat-assets.generated.ts is stale: run npm run build:ui',
    ).toBe(true);
    // Deterministic, or the check above could never pass.
    expect(await buildChatAssetsModule()).toBe(built);
  });
});

describe('answer text with citations', () => {
  it('holds back a citation until its closing bracket arrives', () => {
    expect(splitCitations('Bees dance [1', false)).toEqual({
      parts: [{ kind: 'text', text: 'Bees dance ' }],
      rest: '[1',
    });
    expect(splitCitations('[1] and [2, 3].', false)).toEqual({
      parts: [
        { kind: 'citation', numbers: [1] },
        { kind: 'text', text: ' and ' },
        { kind: 'citation', numbers: [2, 3] },
        { kind: 'text', text: '.' },
      ],
      rest: '',
    });
    // At the end of the answer nothing is held back, and brackets that are no citation stay text.
    expect(splitCitations('in [2024] see [', true).parts).toEqual([
      { kind: 'text', text: 'in [2024] see [' },
    ]);
  });
});

describe('the history sent with the next question', () => {
  it('keeps the latest exchanges with answer text, as user/assistant pairs within the limits', () => {
    expect(
      toHistory([
        { question: 'first', answer: 'one' },
        { question: 'failed before any token', answer: '' },
        { question: 'second', answer: 'two' },
      ]),
    ).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
      { role: 'user', content: 'second' },
      { role: 'assistant', content: 'two' },
    ]);
    const many = Array.from({ length: 80 }, (_, index) => ({ question: `q${index}`, answer: 'a' }));
    const history = toHistory(many);
    expect(history).toHaveLength(100);
    expect(history[0]).toEqual({ role: 'user', content: 'q30' });
    // Each answer is cut to 100,000 characters, and the oldest exchange no longer fits.
    const long = toHistory(
      ['old', 'mid', 'new'].map((question) => ({ question, answer: 'x'.repeat(200_000) })),
    );
    expect(long.map((entry) => entry.content.slice(0, 3))).toEqual(['mid', 'xxx', 'new', 'xxx']);
    expect(long[1]?.content).toHaveLength(100_000);
  });
});
