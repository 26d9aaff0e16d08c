/** The typed client of the streamrag HTTP API, importable as `streamrag/client`. */
export type {
  AnswerBody,
  AnswerDone,
  AnswerError,
  AnswerErrorCode,
  AnswerEvent,
  AnswerEventName,
  AnswerMeta,
  AnswerRequest,
  AnswerSource,
  AnswerTimings,
  AnswerUsage,
} from '../answer/answer-events.ts';
export { answerEventNames } from '../answer/answer-events.ts';
export type { SearchMode } from '../core/types.ts';
export { type AnswerClientOptions, askAnswer, streamAnswer } from './answer-client.ts';
export { AnswerClientError, type AnswerClientErrorCode } from './answer-client-error.ts';
