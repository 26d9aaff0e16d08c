/**
 * The chat page end to end: a real server (PGlite, the fixture corpus) answering through the
 * OpenAI stand-in, served to Debian's Chromium driven by playwright-core. Every check is an
 * ordering or a state (the stand-in paces tokens so the answer visibly grows), never a duration.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAIStandIn,
  standInReply,
  startOpenAIStandIn,
} from '../scripts/stand-in/openai-stand-in.ts';
import type { RunningServer } from '../src/entry/node-server.ts';
import { chatIcon, chatPage, chatScript, chatStyle } from '../src/ui/chat-assets.generated.ts';
import { testEngines } from './support/databases.ts';
import { startTestServer } from './support/test-server.ts';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`${chromiumPath} is missing: CI must install it (scripts/install-browser.sh)`);
}
if (!hasChromium) {
  console.warn(
    `chat-page.test.ts: skipping the browser tests: no Chromium at ${chromiumPath} ` +
      '(install it with scripts/install-browser.sh, or set CHROMIUM_PATH)',
  );
}

// One engine is enough: the page does not care where the passages are stored.
const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

const bees = 'How do bees tell each other where the flowers are?';

let standIn: OpenAIStandIn;
let server: RunningServer;
beforeAll(async () => {
  standIn = await startOpenAIStandIn();
  server = await startTestServer(engine, {
    CHAT_MODEL: 'stand-in-chat',
    OPENAI_BASE_URL: standIn.baseUrl,
    OPENAI_API_KEY: 'test-key',
    LLM_MAX_RETRIES: '0',
  });
});
afterAll(async () => {
  await server?.shutdown();
  await standIn?.close();
  await engine.cleanup();
});

describe('serving the chat page', () => {
  it('serves the page with a strict CSP, revalidated by ETag', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
    const etag = response.headers.get('etag');
    expect(etag).toBe(`"${chatPage.hash}"`);
    expect(await response.text()).toBe(chatPage.body);

    const revalidated = await fetch(`${server.url}/`, { headers: { 'if-none-match': etag ?? '' } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('etag')).toBe(etag);
    expect(await revalidated.text()).toBe('');
  });

  it('serves the assets the page names at content-hashed, immutable URLs', async () => {
    const referenced = [...chatPage.body.matchAll(/(?:href|src)="([^"]+)"/g)].map(
      (match) => `/${match[1]}`,
    );
    expect(referenced.sort()).toEqual([chatIcon.path, chatScript.path, chatStyle.path].sort());
    for (const asset of [chatScript, chatStyle, chatIcon]) {
      expect(asset.path).toContain(asset.hash);
      const response = await fetch(`${server.url}${asset.path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(asset.contentType);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await response.text()).toBe(asset.body);
    }
    expect((await fetch(`${server.url}/assets/chat.0000000000000000.js`)).status).toBe(404);
  });
});

describe.skipIf(!hasChromium)('the chat page in Chromium', () => {
  let browser: Browser;
  /** Problems seen by the current test's page: checked after each test. */
  let foreignRequests: string[] = [];
  let consoleErrors: string[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // playwright gives each launch a fresh temporary profile (--user-data-dir).
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    standIn.configure({ timeToFirstTokenMs: 0, interTokenDelayMs: 0, tokenCount: 20 });
    // Everything came from our server, and the page ran under its CSP without a complaint.
    expect(foreignRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  async function openChat(viewport = { width: 1000, height: 800 }): Promise<Page> {
    foreignRequests = [];
    consoleErrors = [];
    const context = await browser.newContext({ viewport });
    closers.push(() => context.close());
    const page = await context.newPage();
    const origin = new URL(server.url).origin;
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== origin) foreignRequests.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    await page.goto(`${server.url}/`);
    return page;
  }

  /** Types a question into the focused textarea and sends it with Enter. */
  async function ask(page: Page, question: string) {
    await page.getByLabel('Your question').focus();
    await page.keyboard.type(question);
    await page.keyboard.press('Enter');
  }

  const turn = (page: Page, index: number) => page.locator('.turn').nth(index);

  /** Waits (up to playwright's 30 s, a bound not a measurement) for a turn to reach `state`. */
  async function waitForState(page: Page, index: number, state: string) {
    await page.waitForSelector(`.turn:nth-child(${index + 1})[data-state="${state}"]`);
  }

  function lastChatRequest() {
    const chats = standIn.requests.filter((request) => request.path === '/v1/chat/completions');
    return chats.at(-1)?.body as { messages: { role: string; content: string }[] };
  }

  it('streams an answer token by token after its sources, using only the keyboard', async () => {
    standIn.configure({ interTokenDelayMs: 40, tokenCount: 30 });
    const page = await openChat();

    // Tab order: "New chat", then the question.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('question');
    // Shift+Enter is a new line, not a send.
    await page.keyboard.type('How do bees tell each other');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('where the flowers are?');
    expect(await page.getByLabel('Your question').inputValue()).toBe(
      'How do bees tell each other\nwhere the flowers are?',
    );
    expect(await page.locator('.turn').count()).toBe(0);

    // Record every state the answer goes through, as the page renders it.
    await page.evaluate(() => {
      const snapshots: { text: string; state: string; sources: number }[] = [];
      Object.assign(window, { snapshots });
      new MutationObserver(() => {
        const turnElement = document.querySelector('.turn');
        if (turnElement === null) return;
        snapshots.push({
          text: turnElement.querySelector('.answer-text')?.textContent ?? '',
          state: turnElement.getAttribute('data-state') ?? '',
          sources: turnElement.querySelectorAll('.source').length,
        });
      }).observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
    await page.keyboard.press('Enter');
    await waitForState(page, 0, 'done');

    const reply = standInReply(30).join('');
    const snapshots = (await page.evaluate(() => Reflect.get(window, 'snapshots'))) as {
      text: string;
      state: string;
      sources: number;
    }[];
    const growing = [
      ...new Set(
        snapshots
          .filter((snapshot) => snapshot.state === 'streaming' && snapshot.text !== '')
          .map((snapshot) => snapshot.text),
      ),
    ];
    // At least three visible lengths while streaming, each a prefix of the next and the reply.
    expect(growing.length).toBeGreaterThanOrEqual(3);
    growing.forEach((text, index) => {
      expect(reply.startsWith(text)).toBe(true);
      if (index > 0) expect(text.length).toBeGreaterThan(growing[index - 1]?.length ?? 0);
    });
    // The sources were on the page before the first word of the answer.
    expect(snapshots.find((snapshot) => snapshot.text !== '')?.sources).toBeGreaterThan(0);

    const answered = turn(page, 0);
    expect(await answered.locator('.question').textContent()).toBe(
      'How do bees tell each other\nwhere the flowers are?',
    );
    expect(await answered.locator('.answer-text').textContent()).toBe(reply);
    // The citation [1] links to source 1, a passage of the fixture corpus.
    expect(await answered.locator('.citation').first().getAttribute('href')).toBe(
      '#turn-1-source-1',
    );
    expect(await answered.getByRole('heading', { name: 'Sources' }).isVisible()).toBe(true);
    const firstSource = answered.locator('#turn-1-source-1');
    expect(await firstSource.locator('.source-number').textContent()).toBe('[1]');
    expect(await firstSource.locator('.source-title').textContent()).toBe('Honeybees');
    expect(await firstSource.locator('.source-location').textContent()).toMatch(/bees\.md/);
    expect(await firstSource.locator('.source-snippet').textContent()).not.toBe('');
    const timingLabels = await answered.locator('.timings dt').allTextContents();
    expect(timingLabels).toEqual([
      'First byte',
      'First token',
      'Total',
      'Server: embed',
      'Server: retrieve',
    ]);
    for (const value of await answered.locator('.timings dd').allTextContents()) {
      expect(value).toMatch(/^\d+(\.\d+)? m?s$/);
    }
    expect(await answered.locator('.generator').textContent()).toBe('Model: openai:stand-in-chat');
    expect(await page.getByRole('status').textContent()).toBe('Answer complete.');
    // Ready for the next question without reaching for the mouse.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('question');
  });

  it('sends earlier exchanges as history, keeps them on the page, and forgets them on New chat', async () => {
    standIn.configure({ tokenCount: 8 });
    const page = await openChat();
    const firstReply = standInReply(8).join('');

    await ask(page, bees);
    await waitForState(page, 0, 'done');
    await ask(page, 'How long does a sourdough starter need?');
    await waitForState(page, 1, 'done');

    // Both exchanges are on the page…
    expect(await page.locator('.turn .question').allTextContents()).toEqual([
      bees,
      'How long does a sourdough starter need?',
    ]);
    expect(await turn(page, 0).locator('.answer-text').textContent()).toBe(firstReply);
    // …and the model saw the first one before the new question.
    const messages = lastChatRequest().messages;
    expect(messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
    ]);
    expect(messages[1]?.content).toBe(bees);
    expect(messages[2]?.content).toBe(firstReply);
    expect(messages[3]?.content).toMatch(/How long does a sourdough starter need\?$/);

    await page.getByRole('button', { name: 'New chat' }).click();
    expect(await page.locator('.turn').count()).toBe(0);
    await ask(page, 'Why does a comet have a tail?');
    await waitForState(page, 0, 'done');
    expect(lastChatRequest().messages.map((message) => message.role)).toEqual(['system', 'user']);
  });

  it('stops a streaming answer: the page marks it stopped and the model stream is closed', async () => {
    standIn.configure({ interTokenDelayMs: 50, tokenCount: 400 });
    const page = await openChat();
    const streamsBefore = standIn.chatStreams.length;

    await ask(page, bees);
    await page.waitForFunction(() => document.querySelector('.answer-text')?.textContent !== '');
    expect(await turn(page, 0).getAttribute('data-state')).toBe('streaming');
    await page.getByRole('button', { name: 'Stop' }).click();

    await waitForState(page, 0, 'stopped');
    expect(await turn(page, 0).locator('.answer-note').textContent()).toBe(
      'Stopped: the answer is incomplete.',
    );
    expect(await page.getByRole('status').textContent()).toBe('Answer stopped.');
    expect(await page.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true);
    // The disconnect travelled through our server to the model, which stopped mid-reply.
    const stream = standIn.chatStreams[streamsBefore];
    expect(stream).toBeDefined();
    await standIn.waitForClientClose(stream);
    expect(stream).toMatchObject({ closedByClient: true, finished: false });
    expect(stream?.tokensSent).toBeLessThan(400);
  });

  it('shows an error event from the server clearly', async () => {
    standIn.failNext(1, 500);
    const page = await openChat();
    await ask(page, bees);
    await waitForState(page, 0, 'error');
    expect(await turn(page, 0).locator('.answer-note').textContent()).toBe(
      'Error: The language model failed (HTTP 500)',
    );
    expect(await page.getByRole('status').textContent()).toBe(
      'The answer failed: The language model failed (HTTP 500)',
    );
  });

  it('does not send an answer that failed half-way back as history', async () => {
    standIn.configure({ tokenCount: 8 });
    // The model connection drops after three tokens: the answer ends with an error event.
    standIn.dropNext(3);
    const page = await openChat();
    await ask(page, bees);
    await waitForState(page, 0, 'error');
    expect(await turn(page, 0).locator('.answer-text').textContent()).toBe(
      standInReply(3).join(''),
    );
    await ask(page, 'How long does a sourdough starter need?');
    await waitForState(page, 1, 'done');
    expect(lastChatRequest().messages.map((message) => message.role)).toEqual(['system', 'user']);
  });

  it('shows an HTTP error from the server clearly', async () => {
    const page = await openChat();
    // Longer than the server takes: set directly, as typing stops at the textarea's maxlength.
    const question = page.getByLabel('Your question');
    await question.evaluate((textarea: HTMLTextAreaElement) => {
      textarea.value = 'why? '.repeat(2_001);
    });
    await question.focus();
    await page.keyboard.press('Enter');
    await waitForState(page, 0, 'error');
    expect(await turn(page, 0).locator('.answer-note').textContent()).toMatch(
      /^Error: question must be at most 10000 characters \(request [\w-]+\)$/,
    );
    // The browser logs the failed response itself; nothing else went wrong.
    expect(consoleErrors).toEqual([
      'Failed to load resource: the server responded with a status of 400 (Bad Request)',
    ]);
    consoleErrors = [];
  });

  it('fits a 375 px wide phone screen without horizontal scrolling', async () => {
    standIn.configure({ tokenCount: 60 });
    const page = await openChat({ width: 375, height: 740 });
    const overflow = () =>
      page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await ask(page, bees);
    await waitForState(page, 0, 'done');
    expect(await turn(page, 0).locator('.source').count()).toBeGreaterThan(0);
    expect(await overflow()).toBeLessThanOrEqual(0);
  });
});
