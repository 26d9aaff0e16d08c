/**
 * npm run build:ui — rebuilds `src/ui/chat-assets.generated.ts` from the chat page's sources
 * in `src/ui/`. Commit the result: the server imports it and has no build step of its own.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { buildChatAssetsModule, chatAssetsModulePath } from './lib/build-chat-assets.ts';
import { runCli } from './lib/run-cli.ts';

await runCli('usage: npm run build:ui', async () => {
  const built = await buildChatAssetsModule();
  const current = await readFile(chatAssetsModulePath, 'utf8').catch(() => undefined);
  const name = relative(process.cwd(), chatAssetsModulePath);
  if (current === built) {
    console.error(`${name} is up to date`);
    return 0;
  }
  await writeFile(chatAssetsModulePath, built);
  console.error(`wrote ${name} (${Buffer.byteLength(built)} bytes)`);
  return 0;
});
