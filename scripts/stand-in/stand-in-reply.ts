/**
 * The stand-in chat model's reply: fixed text, so tests can know every token in advance.
 */

/** Words after the opening citation; the sentence repeats for as many tokens as asked. */
const SENTENCE = [
  ' the',
  ' stand-in',
  ' model',
  ' streams',
  ' this',
  ' deterministic',
  ' answer',
  ' one',
  ' token',
  ' at',
  ' a',
  ' time',
  '.',
];

/** The first token cites a source, like the answers our prompt asks for. */
const OPENING = 'According to [1],';

/**
 * The reply's tokens, one string per streamed chunk. A shorter reply is always a prefix of a
 * longer one, so a reply cut by `max_tokens` is `standInReply(tokenCount).slice(0, maxTokens)`.
 *
 * @example
 * standInReply(4); // ['According to [1],', ' the', ' stand-in', ' model']
 * standInReply(20).join('');
 * // 'According to [1], the stand-in model streams this deterministic answer one token at a
 * //  time. The stand-in model streams this deterministic'
 */
export function standInReply(tokenCount: number): string[] {
  return Array.from({ length: tokenCount }, (_, index) => standInToken(index));
}

function standInToken(index: number): string {
  if (index === 0) return OPENING;
  const position = (index - 1) % SENTENCE.length;
  // Repeats of the sentence start with a capital, after the previous one's full stop.
  if (position === 0 && index > SENTENCE.length) return ' The';
  return SENTENCE[position] ?? '';
}
