/**
 * The second half of `npm run demo` (after ingesting the bundled sample): starts the answer
 * server on a free port, streams one answer through `npm run ask`'s client into the terminal,
 * then shuts the server down.
 */
import { spawn } from 'node:child_process';
import { startNodeServer } from '../src/entry/node-server.ts';
import { runCli } from './lib/run-cli.ts';

const question = process.argv[2] ?? 'How do I build an index without locking out writes?';

await runCli('usage: node scripts/demo.ts ["question"]', async () => {
  const server = await startNodeServer({ ...process.env, PORT: '0' });
  try {
    console.error(`streamrag is serving on ${server.url} — ${server.description}`);
    console.error(`POST ${server.url}/v1/answer {"question": "${question}"}\n`);
    const ask = spawn(process.execPath, ['scripts/ask.ts', '--url', server.url, question], {
      stdio: 'inherit',
    });
    const code = await new Promise<number>((resolve) =>
      ask.on('exit', (exit) => resolve(exit ?? 1)),
    );
    console.error(
      '\nNext: `npm start`, then open http://127.0.0.1:8787/ for the chat page (API docs at /docs), or `npm run ask -- "your question"`.',
    );
    return code;
  } finally {
    await server.shutdown();
  }
});
