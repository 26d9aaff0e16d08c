import type { AnswerRequest } from '../../client/index.ts';

export type HistoryEntry = NonNullable<AnswerRequest['history']>[number];

/** A finished exchange of the page: the question and the answer it got (whole, or stopped). */
export interface Exchange {
  question: string;
  answer: string;
}

/** The contract's limits (request-schemas.ts): 100 entries, 100,000 characters each. */
const maxEntries = 100;
const maxEntryCharacters = 100_000;
/**
 * Far below the server's default 1 MB body limit even at 3 UTF-8 bytes per character, so a long
 * conversation drops its oldest exchanges instead of getting a 413.
 */
const maxTotalCharacters = 250_000;

/**
 * The `history` to send with the next question: the most recent exchanges that fit the limits,
 * oldest first, as user/assistant pairs. Exchanges without answer text (failed before the
 * first token) are left out: a question with no reply would only confuse the model.
 *
 * @example
 * toHistory([{ question: 'What are bees?', answer: 'Insects [1].' }]);
 * // [{ role: 'user', content: 'What are bees?' }, { role: 'assistant', content: 'Insects [1].' }]
 */
export function toHistory(exchanges: readonly Exchange[]): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  let total = 0;
  for (let index = exchanges.length - 1; index >= 0; index -= 1) {
    const exchange = exchanges[index];
    if (exchange === undefined || exchange.answer.trim() === '') continue;
    // The server refuses U+0000 (PostgreSQL text cannot hold it); a model may still send one.
    const question = exchange.question.replaceAll('\u0000', '').slice(0, maxEntryCharacters);
    const answer = exchange.answer.replaceAll('\u0000', '').slice(0, maxEntryCharacters);
    total += question.length + answer.length;
    if (history.length + 2 > maxEntries || total > maxTotalCharacters) break;
    history.unshift({ role: 'user', content: question }, { role: 'assistant', content: answer });
  }
  return history;
}
