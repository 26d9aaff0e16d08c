import type { AnswerMeta, AnswerSource } from '../../client/index.ts';
import { type AnswerPart, splitCitations } from './citation-text.ts';
import { createElement } from './create-element.ts';
import { formatDuration } from './format-duration.ts';

export type TurnState = 'streaming' | 'done' | 'stopped' | 'error';

/** What the page measured (ms since the question was sent) and what `done` reported. */
export interface TurnTimings {
  firstByteMs?: number;
  firstTokenMs?: number;
  totalMs?: number;
  /** The server's own stages, from the `done` event. */
  embedMs?: number;
  retrieveMs?: number;
}

export interface AnswerTurn {
  element: HTMLLIElement;
  /** The answer text received so far, exactly as streamed. */
  readonly answer: string;
  showMeta(meta: AnswerMeta): void;
  showSources(sources: readonly AnswerSource[]): void;
  appendToken(text: string): void;
  /** Ends the turn: renders held-back text, the state note and the timings. */
  finish(state: Exclude<TurnState, 'streaming'>, timings: TurnTimings, note?: string): void;
}

/**
 * The DOM of one question and its streaming answer: the question as the turn's heading, the
 * answer text (citations link to the numbered sources), the sources, then the timings.
 * `data-state` on the element says where it is (`streaming`, `done`, `stopped`, `error`).
 *
 * @example
 * const turn = createAnswerTurn(1, 'How do bees find flowers?');
 * conversation.append(turn.element);
 * turn.appendToken('They dance [1].');
 * turn.finish('done', { firstByteMs: 4, firstTokenMs: 300, totalMs: 900 });
 */
export function createAnswerTurn(number: number, question: string): AnswerTurn {
  const idPrefix = `turn-${number}`;
  const answerText = createElement('p', { className: 'answer-text' });
  const generator = createElement('p', { className: 'generator' });
  const note = createElement('p', { className: 'answer-note' });
  const sourcesSection = createElement('section', {
    className: 'sources',
    attributes: { 'aria-labelledby': `${idPrefix}-sources` },
  });
  const timings = createElement('dl', { className: 'timings' });
  const element = createElement(
    'li',
    { className: 'turn', attributes: { 'data-state': 'streaming', 'aria-busy': 'true' } },
    [
      createElement('h2', { className: 'question', text: question }),
      createElement('div', { className: 'answer', attributes: { id: `${idPrefix}-answer` } }, [
        answerText,
        note,
        sourcesSection,
        timings,
        generator,
      ]),
    ],
  );
  sourcesSection.hidden = true;
  note.hidden = true;

  let answer = '';
  // Text not rendered yet: an unfinished citation such as "[1" waiting for its "]".
  let pending = '';
  let sourceCount = 0;

  const render = (parts: readonly AnswerPart[]) => {
    for (const part of parts) {
      if (part.kind === 'text') answerText.append(part.text);
      else answerText.append(...citationNodes(part.numbers));
    }
  };
  const citationNodes = (numbers: readonly number[]): Node[] => {
    const nodes: Node[] = [document.createTextNode('[')];
    numbers.forEach((number, index) => {
      if (index > 0) nodes.push(document.createTextNode(', '));
      nodes.push(
        number >= 1 && number <= sourceCount
          ? createElement('a', {
              className: 'citation',
              text: String(number),
              attributes: {
                href: `#${idPrefix}-source-${number}`,
                'aria-label': `source ${number}`,
              },
            })
          : document.createTextNode(String(number)),
      );
    });
    nodes.push(document.createTextNode(']'));
    return nodes;
  };

  return {
    element,
    get answer() {
      return answer;
    },
    showMeta(meta) {
      generator.textContent =
        meta.generator === 'extractive'
          ? 'Quoted from the sources (extractive: no language model configured)'
          : `Model: ${meta.generator}`;
    },
    showSources(sources) {
      sourceCount = sources.length;
      const list = createElement(
        'ol',
        { className: 'source-list', attributes: { role: 'list' } },
        sources.map((source, index) =>
          sourceItem(`${idPrefix}-source-${index + 1}`, index + 1, source),
        ),
      );
      sourcesSection.replaceChildren(
        createElement('h3', {
          text: sources.length === 0 ? 'No sources found' : 'Sources',
          attributes: { id: `${idPrefix}-sources` },
        }),
        list,
      );
      sourcesSection.hidden = false;
    },
    appendToken(text) {
      answer += text;
      const { parts, rest } = splitCitations(pending + text, false);
      pending = rest;
      render(parts);
    },
    finish(state, measured, noteText) {
      render(splitCitations(pending, true).parts);
      pending = '';
      element.dataset.state = state;
      element.removeAttribute('aria-busy');
      if (noteText !== undefined) {
        note.textContent = noteText;
        note.hidden = false;
      }
      timings.replaceChildren(...timingEntries(state, measured));
    },
  };
}

function sourceItem(id: string, number: number, source: AnswerSource): HTMLLIElement {
  const title = source.title ?? source.source;
  // Documents ingested from the web link to their page; file paths stay text.
  const location = /^https?:\/\//i.test(source.source)
    ? createElement('a', {
        text: source.source,
        // A new tab: the conversation lives only in this page.
        attributes: { href: source.source, target: '_blank', rel: 'noopener noreferrer' },
      })
    : document.createTextNode(source.source);
  return createElement('li', { className: 'source', attributes: { id, tabindex: '-1' } }, [
    createElement('span', { className: 'source-number', text: `[${number}]` }),
    createElement('div', { className: 'source-body' }, [
      createElement('p', { className: 'source-title', text: title }),
      createElement('p', { className: 'source-location' }, [
        location,
        document.createTextNode(` · passage ${source.ordinal + 1}`),
      ]),
      createElement('p', { className: 'source-snippet', text: source.snippet }),
    ]),
  ]);
}

function timingEntries(state: TurnState, timings: TurnTimings): Node[] {
  const entries: [string, number | undefined][] = [
    ['First byte', timings.firstByteMs],
    ['First token', timings.firstTokenMs],
    [state === 'stopped' ? 'Stopped after' : 'Total', timings.totalMs],
    ['Server: embed', timings.embedMs],
    ['Server: retrieve', timings.retrieveMs],
  ];
  return entries
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .map(([label, milliseconds]) =>
      createElement('div', {}, [
        createElement('dt', { text: label }),
        createElement('dd', { text: formatDuration(milliseconds) }),
      ]),
    );
}
