import type { AnswerInput } from '../../answer/answer-stream.ts';
import type { ChatTurn } from '../../answer/generator.ts';
import type { MetadataFilter, SearchMode } from '../../core/types.ts';
import type { AppDependencies } from '../app-dependencies.ts';
import { HttpError } from '../http-error.ts';
import { maxHistoryTurns, maxQuestionLength } from '../request-schemas.ts';

/** A chat message reduced to its text, as the OpenAI and AI SDK bodies carry them. */
export interface ConversationMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  text: string;
}

export interface RetrievalOptions {
  collection?: string | undefined;
  k?: number | undefined;
  filter?: MetadataFilter | undefined;
  search?: SearchMode | undefined;
}

/**
 * A whole conversation → the answer input: the last message (which must be the user's) is
 * the question, the user and assistant messages before it are the history. Chat clients
 * send every earlier turn, so a long conversation keeps its latest turns rather than being
 * refused; system and developer messages are left out (the server writes its own
 * instructions: answer from the sources, cite them as [n]).
 *
 * @example
 * conversationToInput([{ role: 'user', text: 'What is VACUUM?' }], {}, config, 'messages');
 */
export function conversationToInput(
  messages: readonly ConversationMessage[],
  retrieval: RetrievalOptions,
  config: AppDependencies['config'],
  field: string,
): AnswerInput {
  const lastIndex = messages.length - 1;
  const last = messages[lastIndex];
  if (last === undefined) {
    throw new HttpError(400, 'invalid_request', `${field} must not be empty`, { param: field });
  }
  if (last.role !== 'user') {
    throw new HttpError(
      400,
      'invalid_request',
      `${field}[${lastIndex}] must be a user message: the last message is the question`,
      { param: `${field}[${lastIndex}].role` },
    );
  }
  const question = last.text.trim();
  if (question === '' || question.length > maxQuestionLength) {
    throw new HttpError(
      400,
      'invalid_request',
      question === ''
        ? `${field}[${lastIndex}] has no text: the last message is the question`
        : `${field}[${lastIndex}] must be at most ${maxQuestionLength} characters`,
      { param: `${field}[${lastIndex}]` },
    );
  }
  const history: ChatTurn[] = [];
  for (const message of messages.slice(0, lastIndex)) {
    if (message.role !== 'user' && message.role !== 'assistant') continue;
    if (message.text.trim() === '') continue;
    history.push({ role: message.role, content: message.text });
  }
  return {
    question,
    k: retrieval.k ?? config.answerK,
    search: retrieval.search ?? 'hybrid',
    history: history.slice(-maxHistoryTurns),
    ...(retrieval.collection === undefined ? {} : { collection: retrieval.collection }),
    ...(retrieval.filter === undefined ? {} : { filter: retrieval.filter }),
  };
}
