/**
 * npm run stand-in -- [--port N] [--host H] [--ttft-ms N] [--token-delay-ms N] [--tokens N]
 *                     [--dimensions N]
 *
 * Runs the OpenAI-compatible stand-in so a person can try the model path without keys: point
 * the server at the printed base URL and every answer streams `standInReply(tokens)`.
 */
import { parseArgs } from 'node:util';
import { runCli, UsageError } from '../lib/run-cli.ts';
import {
  STAND_IN_CHAT_MODEL,
  STAND_IN_EMBEDDING_MODEL,
  startOpenAIStandIn,
} from './openai-stand-in.ts';

const usage = `usage: npm run stand-in -- [options]

  --port N              port to listen on (default 8788; 0 picks a free one)
  --host HOST           address to listen on (default 127.0.0.1)
  --ttft-ms N           milliseconds before the first token of a chat reply (default 0)
  --token-delay-ms N    milliseconds between tokens (default 0)
  --tokens N            tokens in a chat reply (default 20; a request's max_tokens cuts it)
  --dimensions N        embedding dimension (default 384)`;

await runCli(usage, async () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8788' },
      host: { type: 'string', default: '127.0.0.1' },
      'ttft-ms': { type: 'string', default: '0' },
      'token-delay-ms': { type: 'string', default: '0' },
      tokens: { type: 'string', default: '20' },
      dimensions: { type: 'string', default: '384' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const standIn = await startOpenAIStandIn({
    port: wholeNumber('--port', values.port, 0, 65_535),
    host: values.host,
    timeToFirstTokenMs: wholeNumber('--ttft-ms', values['ttft-ms'], 0, 600_000),
    interTokenDelayMs: wholeNumber('--token-delay-ms', values['token-delay-ms'], 0, 600_000),
    tokenCount: wholeNumber('--tokens', values.tokens, 0, 1_000_000),
    dimensions: wholeNumber('--dimensions', values.dimensions, 1, 2000),
  });
  const { timeToFirstTokenMs, interTokenDelayMs, tokenCount } = standIn.timing;
  console.log(`OpenAI stand-in listening on ${standIn.baseUrl}`);
  console.log(
    `chat: ${tokenCount} tokens, ${timeToFirstTokenMs} ms to the first, ${interTokenDelayMs} ms apart`,
  );
  console.log('\nUse it with:');
  console.log(
    `  OPENAI_BASE_URL=${standIn.baseUrl} OPENAI_API_KEY=stand-in CHAT_MODEL=${STAND_IN_CHAT_MODEL}`,
  );
  console.log(
    `and, for embeddings from the stand-in too: EMBEDDING_MODEL=${STAND_IN_EMBEDDING_MODEL}`,
  );
  console.log('\nCtrl-C to stop.');

  // Resolving only on a signal keeps the command running; the open server keeps Node alive.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await standIn.close();
  console.log(`\n${signal}: stand-in stopped after ${standIn.stats.chatRequests} chat requests.`);
  return 0;
});

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  }
  return value;
}
