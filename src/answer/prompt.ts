import { AIMessage, type BaseMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { Hit } from '../core/types.ts';
import type { ChatTurn } from './generator.ts';

export const systemInstructions = `You answer questions using only the numbered sources you are given.
Cite the sources that support each statement with their numbers in square brackets, like [1] or [2][3].
If the sources do not contain the answer, say that you could not find it in the documents.
Be concise.`;

/**
 * The messages sent to the chat model: instructions, the earlier turns of the conversation,
 * then the numbered sources and the question. The sources go with the question (not into the
 * system message) so that each turn is grounded in the passages retrieved for it.
 *
 * @example
 * buildMessages('How do I vacuum?', hits, [{ role: 'user', content: 'Hi' }]);
 */
export function buildMessages(
  question: string,
  sources: readonly Hit[],
  history: readonly ChatTurn[],
): BaseMessage[] {
  return [
    new SystemMessage(systemInstructions),
    ...history.map((turn) =>
      turn.role === 'user' ? new HumanMessage(turn.content) : new AIMessage(turn.content),
    ),
    new HumanMessage(`${formatSources(sources)}\n\nQuestion: ${question}`),
  ];
}

/** `[n] Title (source)` followed by the passage, for every source. */
export function formatSources(sources: readonly Hit[]): string {
  if (sources.length === 0) return 'Sources: none were found for this question.';
  const blocks = sources.map(
    (hit, index) =>
      `[${index + 1}] ${hit.title ?? hit.source}${hit.title === null ? '' : ` (${hit.source})`}\n${hit.content}`,
  );
  return `Sources:\n\n${blocks.join('\n\n')}`;
}
