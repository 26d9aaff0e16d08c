/**
 * Answer text as plain runs and `[n]` citations, for rendering while it streams. Pure, so the
 * page can append each token's finished parts and hold back a citation still arriving.
 */

export type AnswerPart = { kind: 'text'; text: string } | { kind: 'citation'; numbers: number[] };

/** `[3]` or `[1, 2]`; three digits at most, so `[2024]` stays text. */
const citationPattern = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
/** The start of a citation that may still be completed by the next token: `[`, `[1`, `[1, `. */
const unfinishedCitation = /\[[\d,\s]{0,20}$/;

/**
 * Splits `text` into parts; unless `final`, an unfinished citation at the end is returned as
 * `rest`, to be prepended to the next token (so `[` then `1]` renders as one citation).
 *
 * @example
 * splitCitations('Bees dance [1', false);
 * // { parts: [{ kind: 'text', text: 'Bees dance ' }], rest: '[1' }
 * splitCitations('[1] and [2, 3].', true).parts;
 * // [{ kind: 'citation', numbers: [1] }, { kind: 'text', text: ' and ' },
 * //  { kind: 'citation', numbers: [2, 3] }, { kind: 'text', text: '.' }]
 */
export function splitCitations(
  text: string,
  final: boolean,
): { parts: AnswerPart[]; rest: string } {
  let ready = text;
  let rest = '';
  const unfinished = final ? null : unfinishedCitation.exec(text);
  if (unfinished !== null) {
    ready = text.slice(0, unfinished.index);
    rest = text.slice(unfinished.index);
  }
  const parts: AnswerPart[] = [];
  let position = 0;
  for (const match of ready.matchAll(citationPattern)) {
    if (match.index > position)
      parts.push({ kind: 'text', text: ready.slice(position, match.index) });
    const numbers = (match[1] ?? '').split(',').map((number) => Number(number.trim()));
    parts.push({ kind: 'citation', numbers });
    position = match.index + match[0].length;
  }
  if (position < ready.length) parts.push({ kind: 'text', text: ready.slice(position) });
  return { parts, rest };
}
