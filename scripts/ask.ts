/**
 * npm run ask -- [--url URL] [--k N] [--collection NAME] [--filter key=value]…
 *                [--search hybrid|vector|text] [--json]
 *                "question"
 *
 * Streams the answer of a running server (`npm start`) into the terminal.
 */
import { parseArgs } from 'node:util';
import {
  type AnswerBody,
  AnswerClientError,
  type AnswerDone,
  type AnswerMeta,
  type AnswerRequest,
  type AnswerSource,
  streamAnswer,
} from '../src/client/index.ts';
import { type SearchMode, searchModes } from '../src/core/types.ts';
import { parseFilterOptions } from './lib/parse-filter.ts';
import { runCli, UsageError } from './lib/run-cli.ts';

const defaultUrl = process.env.STREAMRAG_URL ?? 'http://127.0.0.1:8787';

const usage = `usage: npm run ask -- [options] "question"

  --url URL             the server (default ${defaultUrl}; env STREAMRAG_URL)
  --k N                 number of passages (1-50; default: the server's ANSWER_K, 6)
  --search MODE         hybrid (default), vector or text
  --collection NAME     only this collection
  --filter key=value    only documents whose metadata has key = value (repeatable)
  --json                print the whole answer as one JSON object at the end`;

await runCli(usage, async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: defaultUrl },
      k: { type: 'string' },
      search: { type: 'string', default: 'hybrid' },
      collection: { type: 'string' },
      filter: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
    },
  });
  const question = positionals.join(' ').trim();
  if (question === '') throw new UsageError('Give a question to ask.');
  const k = values.k === undefined ? undefined : Number(values.k);
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 50))
    throw new UsageError('--k must be a whole number from 1 to 50');
  const search = values.search as SearchMode;
  if (!searchModes.includes(search))
    throw new UsageError(`--search must be one of ${searchModes.join(', ')}`);
  const filter = parseFilterOptions(values.filter);
  const request: AnswerRequest = {
    question,
    ...(k === undefined ? {} : { k }),
    search,
    ...(values.collection === undefined ? {} : { collection: values.collection }),
    ...(Object.keys(filter).length === 0 ? {} : { filter }),
  };

  // Ctrl-C cancels the stream (the server stops generating); a second one kills at once.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  let answer = '';
  let meta: AnswerMeta | undefined;
  let sources: AnswerSource[] = [];
  try {
    for await (const event of streamAnswer(request, {
      baseUrl: values.url,
      signal: controller.signal,
    })) {
      switch (event.event) {
        case 'meta':
          meta = event.data;
          break;
        case 'sources':
          sources = event.data;
          break;
        case 'token':
          answer += event.data.text;
          if (!values.json) process.stdout.write(event.data.text);
          break;
        case 'error':
          if (answer !== '' && !values.json) process.stdout.write('\n');
          console.error(`error: ${event.data.message} (${event.data.code})`);
          return 1;
        case 'done':
          if (values.json) {
            console.log(JSON.stringify(foldAnswer(answer, sources, event.data)));
          } else {
            printSummary(answer, sources, event.data, meta);
          }
          return 0;
      }
    }
    // streamAnswer throws unless the stream ends with done or error.
    return 1;
  } catch (error) {
    if (answer !== '' && !values.json) process.stdout.write('\n');
    if (controller.signal.aborted) {
      console.error('Stopped.');
      return 130;
    }
    if (!(error instanceof AnswerClientError)) throw error;
    if (error.code === 'network_error' && error.status === null) {
      console.error(`Cannot reach streamrag at ${values.url} — start it with npm start`);
      if (process.env.DEBUG) console.error(error);
      return 1;
    }
    const requestId = error.requestId === null ? '' : ` [request ${error.requestId}]`;
    console.error(`error: ${error.message}${requestId}`);
    return error.code === 'invalid_request' ? 2 : 1;
  }
});

/** The same shape as the server's JSON mode (`Accept: application/json`). */
function foldAnswer(answer: string, sources: AnswerSource[], done: AnswerDone): AnswerBody {
  return {
    answer,
    sources,
    finishReason: done.finishReason,
    ...(done.usage === undefined ? {} : { usage: done.usage }),
    timings: done.timings,
  };
}

/**
 * Sources go to stdout after the answer, since its [n] citations point at them; the timings are
 * diagnostics, so stderr, which keeps `npm run ask -- … > answer.txt` clean.
 */
function printSummary(
  answer: string,
  sources: AnswerSource[],
  done: AnswerDone,
  meta: AnswerMeta | undefined,
): void {
  if (answer !== '' && !answer.endsWith('\n')) process.stdout.write('\n');
  if (done.finishReason === 'length') console.error('(cut short: the model hit its token limit)');
  if (sources.length === 0) {
    console.error('No passages found. Ingest documents first: npm run ingest -- <paths>');
  } else {
    console.log('');
    sources.forEach((source, index) => {
      const label = source.title === null ? source.source : `${source.title} — ${source.source}`;
      console.log(`[${index + 1}] ${label} (${source.score.toFixed(4)})`);
    });
  }
  const { firstTokenMs, totalMs, embedMs, retrieveMs } = done.timings;
  const firstToken = firstTokenMs === null ? 'no token' : `first token ${firstTokenMs} ms`;
  const origin = meta === undefined ? '' : `${meta.generator}, ${meta.search} search: `;
  console.error(
    `\n${origin}${firstToken}, total ${totalMs} ms (embed ${embedMs} ms, retrieve ${retrieveMs} ms)`,
  );
}
