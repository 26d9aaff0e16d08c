/**
 * npm run search -- [--k N] [--mode hybrid|vector|text] [--collection NAME]
 *                   [--filter key=value]… [--json] [--explain] "question"
 */
import { parseArgs } from 'node:util';
import { type SearchMode, searchModes } from '../src/core/types.ts';
import { openNodeDependencies } from '../src/entry/node-dependencies.ts';
import { retrieve, toSearchQuery } from '../src/retrieval/retrieve.ts';
import { parseFilterOptions } from './lib/parse-filter.ts';
import { runCli, UsageError } from './lib/run-cli.ts';

const usage = `usage: npm run search -- [options] "question"

  --k N                 number of passages (1-50, default 5)
  --mode MODE           hybrid (default), vector or text
  --collection NAME     only this collection
  --filter key=value    only documents whose metadata has key = value (repeatable)
  --json                print the hits as one JSON array on the last line
  --explain             print the query plan instead of the hits`;

await runCli(usage, async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      k: { type: 'string', default: '5' },
      mode: { type: 'string', default: 'hybrid' },
      collection: { type: 'string' },
      filter: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      explain: { type: 'boolean', default: false },
    },
  });
  const question = positionals.join(' ').trim();
  if (question === '') throw new UsageError('Give a question to search for.');
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > 50)
    throw new UsageError('--k must be a whole number from 1 to 50');
  const mode = values.mode as SearchMode;
  if (!searchModes.includes(mode))
    throw new UsageError(`--mode must be one of ${searchModes.join(', ')}`);
  const filter = parseFilterOptions(values.filter);

  const { store, embedder } = await openNodeDependencies();
  try {
    const request = {
      question,
      mode,
      k,
      ...(values.collection === undefined ? {} : { collection: values.collection }),
      ...(Object.keys(filter).length === 0 ? {} : { filter }),
    };
    if (values.explain) {
      console.log(await store.explainSearch(await toSearchQuery(embedder.embeddings, request)));
      return 0;
    }
    const { hits, timings } = await retrieve({ store, embeddings: embedder.embeddings }, request);
    if (values.json) {
      console.log(JSON.stringify(hits));
      return 0;
    }
    if (hits.length === 0)
      console.log('No passages found. Ingest documents first: npm run ingest -- <paths>');
    hits.forEach((hit, index) => {
      const snippet = hit.content.replace(/\s+/g, ' ').slice(0, 280);
      console.log(
        `${index + 1}. ${hit.title ?? hit.source} — ${hit.source} #${hit.ordinal} (score ${hit.score.toFixed(4)})`,
      );
      console.log(`   ${snippet}${hit.content.length > 280 ? '…' : ''}\n`);
    });
    console.log(
      `${mode} search on ${store.engine}: embed ${timings.embedMs} ms, retrieve ${timings.retrieveMs} ms`,
    );
    return 0;
  } finally {
    await store.close();
  }
});
