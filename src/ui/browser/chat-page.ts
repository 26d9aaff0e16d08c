/**
 * The chat page's script (bundled by `scripts/build-ui.ts`): asks `POST /v1/answer` on this
 * origin through the typed client and renders each answer as it streams. Earlier exchanges
 * stay on the page and go with the next question as `history`; "New chat" forgets them.
 */
import { AnswerClientError, streamAnswer } from '../../client/index.ts';
import { type AnswerTurn, createAnswerTurn, type TurnTimings } from './answer-turn.ts';
import { type Exchange, toHistory } from './conversation-history.ts';

const form = requireElement('ask-form', HTMLFormElement);
const questionInput = requireElement('question', HTMLTextAreaElement);
const sendButton = requireElement('send', HTMLButtonElement);
const stopButton = requireElement('stop', HTMLButtonElement);
const newChatButton = requireElement('new-chat', HTMLButtonElement);
const conversation = requireElement('conversation', HTMLOListElement);
const emptyState = requireElement('empty-state', HTMLElement);
const status = requireElement('status', HTMLElement);

/** The API sits beside the page, so a server mounted under a path prefix works too. */
const pageBaseUrl = new URL('.', location.href).href;

let exchanges: Exchange[] = [];
let turnCount = 0;
/** Set while an answer streams; aborting it cancels the response body and the model call. */
let running: AbortController | undefined;

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void sendQuestion();
});
questionInput.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter is a new line; Enter that confirms an IME composition is neither
  // (Safari reports that one with isComposing false but keyCode 229).
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    form.requestSubmit();
  }
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !event.isComposing && running !== undefined) stopButton.click();
});
stopButton.addEventListener('click', () => running?.abort());
newChatButton.addEventListener('click', () => {
  running?.abort();
  // The aborted answer winds down on its own; a question asked right away must not wait for it.
  running = undefined;
  setStreaming(false);
  exchanges = [];
  conversation.replaceChildren();
  emptyState.hidden = false;
  announce('New chat: earlier questions are forgotten.');
  questionInput.focus();
});

async function sendQuestion(): Promise<void> {
  if (running !== undefined) {
    announce('An answer is still streaming: stop it (Escape) or wait for it to finish.');
    return;
  }
  const question = questionInput.value.trim();
  if (question === '') {
    announce('Type a question first.');
    questionInput.focus();
    return;
  }
  const controller = new AbortController();
  running = controller;
  const history = toHistory(exchanges);
  const exchange: Exchange = { question, answer: '' };
  turnCount += 1;
  const turn = createAnswerTurn(turnCount, question);
  emptyState.hidden = true;
  followingEnd(() => conversation.append(turn.element));
  questionInput.value = '';
  setStreaming(true);
  announce('Searching the documents…');

  // "New chat" during the answer takes the turn off the page: it then says nothing more.
  const onPage = () => conversation.contains(turn.element);
  const announceForTurn = (message: string) => {
    if (onPage()) announce(message);
  };
  const startedAt = performance.now();
  const timings: TurnTimings = {};
  /** Only whole or stopped answers go back as history: a failed one may be half a sentence. */
  let outcome: 'done' | 'stopped' | 'error' = 'error';
  const elapsed = () => performance.now() - startedAt;
  try {
    const events = streamAnswer(
      { question, ...(history.length === 0 ? {} : { history }) },
      { baseUrl: pageBaseUrl, signal: controller.signal },
    );
    for await (const event of events) {
      switch (event.event) {
        case 'meta':
          timings.firstByteMs = elapsed();
          turn.showMeta(event.data);
          break;
        case 'sources':
          followingEnd(() => turn.showSources(event.data));
          announceForTurn(`${countSources(event.data.length)} found; answering…`);
          break;
        case 'token':
          timings.firstTokenMs ??= elapsed();
          followingEnd(() => turn.appendToken(event.data.text));
          break;
        case 'done': {
          timings.totalMs = elapsed();
          timings.embedMs = event.data.timings.embedMs;
          timings.retrieveMs = event.data.timings.retrieveMs;
          outcome = 'done';
          const cutShort = event.data.finishReason === 'length';
          finish(
            turn,
            'done',
            timings,
            cutShort ? 'Cut short: the model hit its length limit.' : undefined,
          );
          announceForTurn(
            cutShort ? 'Answer cut short by the model’s length limit.' : 'Answer complete.',
          );
          break;
        }
        case 'error':
          timings.totalMs = elapsed();
          finish(turn, 'error', timings, `Error: ${event.data.message}`);
          announceForTurn(`The answer failed: ${event.data.message}`);
          break;
      }
    }
  } catch (error) {
    timings.totalMs = elapsed();
    if (controller.signal.aborted) {
      outcome = 'stopped';
      finish(turn, 'stopped', timings, 'Stopped: the answer is incomplete.');
      announceForTurn('Answer stopped.');
    } else {
      const message = describeFailure(error);
      finish(turn, 'error', timings, `Error: ${message}`);
      announceForTurn(`The answer failed: ${message}`);
    }
  } finally {
    exchange.answer = turn.answer;
    if (onPage() && outcome !== 'error') exchanges.push(exchange);
    // New chat may already have started the next answer.
    if (running === controller) {
      running = undefined;
      setStreaming(false);
    }
  }
}

function finish(
  turn: AnswerTurn,
  state: 'done' | 'stopped' | 'error',
  timings: TurnTimings,
  note?: string,
) {
  followingEnd(() => turn.finish(state, timings, note));
}

function setStreaming(streaming: boolean) {
  // The Stop button is about to be disabled: keep keyboard focus in the page, on the question.
  if (!streaming && document.activeElement === stopButton) questionInput.focus();
  sendButton.disabled = streaming;
  stopButton.disabled = !streaming;
}

/** Keeps the newest text in view while it grows, unless the reader scrolled up to read. */
function followingEnd(update: () => void) {
  const page = document.scrollingElement ?? document.documentElement;
  const atEnd = page.scrollHeight - page.scrollTop - page.clientHeight < 48;
  update();
  if (atEnd) page.scrollTop = page.scrollHeight;
}

/** The live region: one message per change of state, never one per token. */
function announce(message: string) {
  status.textContent = message;
}

function countSources(count: number): string {
  return count === 1 ? '1 source' : `${count} sources`;
}

function describeFailure(error: unknown): string {
  if (error instanceof AnswerClientError) {
    const requestId = error.requestId === null ? '' : ` (request ${error.requestId})`;
    return `${error.message}${requestId}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function requireElement<Type extends HTMLElement>(
  id: string,
  type: { new (): Type; prototype: Type },
): Type {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`The page has no #${id} ${type.name}`);
  return element;
}
