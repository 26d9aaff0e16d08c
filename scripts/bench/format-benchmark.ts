/**
 * npm run bench:formats [-- options]
 *
 * The same ask in each answer format, one at a time: our SSE events (`POST /v1/answer`),
 * OpenAI's chunks (`POST /v1/chat/completions`, stream) and the AI SDK's UI message stream
 * (`POST /api/chat`). Measures time to first byte, to first token and to the end, the bytes on
 * the wire, and the server's CPU per answer, so the cost of each encoder and the claim that
 * every format sends its first byte before any I/O are numbers. The formats take turns within
 * each round, so a noisy neighbour hits all of them alike. Prints Markdown; `--write` also puts
 * it in docs/benchmarks.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../lib/run-cli.ts';
import {
  commandArguments,
  parseSequentialAskArguments,
  sequentialAskOptionsUsage,
} from './bench-arguments.ts';
import { writeBenchmarkSection } from './benchmarks-file.ts';
import { formatCount, formatMilliseconds, markdownTable, summarize } from './statistics.ts';
import {
  cleanEnvironment,
  killAllChildren,
  processCpuMilliseconds,
  runNodeScript,
  type ServiceChild,
  startServiceChild,
  startStandInChild,
} from './stream-children.ts';
import { streamQuestions } from './stream-questions.ts';
import { type AskFormat, answerFormat, type Sample, takeTurns, timedAsk } from './timed-ask.ts';

const usage = `usage: npm run bench:formats -- [options]

  --runs N              answers per format (default 50)
${sequentialAskOptionsUsage}

Runs the server (PGlite, in a temporary directory) and the stand-in as child processes.`;

const sectionHeading = '## Answer formats (`npm run bench:formats`)';

interface Format extends AskFormat {
  name: string;
}

const formats: Format[] = [
  { name: 'streamrag events `/v1/answer`', ...answerFormat },
  {
    name: 'OpenAI chunks `/v1/chat/completions`',
    path: '/v1/chat/completions',
    body: (question) => ({
      model: 'streamrag',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: question }],
    }),
    isToken: (_event, data) =>
      data.includes('"delta":{"content":"') && !data.includes('"content":""'),
  },
  {
    name: 'AI SDK parts `/api/chat`',
    path: '/api/chat',
    body: (question) => ({
      id: 'bench',
      messages: [{ id: 'u', role: 'user', parts: [{ type: 'text', text: question }] }],
    }),
    isToken: (_event, data) => data.startsWith('{"type":"text-delta"'),
  },
];

await runCli(usage, async () => {
  const { runs, timing, corpus, write } = parseSequentialAskArguments();
  const dataDir = await mkdtemp(join(tmpdir(), 'streamrag-bench-formats-'));
  const children: ServiceChild[] = [];
  try {
    const standIn = await startStandInChild(timing);
    children.push(standIn);
    const settings = {
      DATA_DIR: dataDir,
      PORT: '0',
      CHAT_MODEL: 'stand-in-chat',
      OPENAI_BASE_URL: standIn.url,
      OPENAI_API_KEY: 'bench',
    };
    await runNodeScript('scripts/ingest.ts', [corpus], cleanEnvironment(settings));
    const server = await startServiceChild(
      'streamrag',
      'src/entry/node.ts',
      [],
      cleanEnvironment(settings),
    );
    children.push(server);

    // Warm-up: the first answers pay for JIT and the first connections.
    for (const format of formats)
      await timedAsk(server.url, format, streamQuestions[0] ?? 'vacuum');

    const samples = new Map<Format, Sample[]>(formats.map((format) => [format, []]));
    const cpu = new Map<Format, number>(formats.map((format) => [format, 0]));
    await takeTurns(formats, runs, async (format, question) => {
      const before = await processCpuMilliseconds(server.pid);
      const sample = await timedAsk(server.url, format, question);
      const after = await processCpuMilliseconds(server.pid);
      samples.get(format)?.push(sample);
      cpu.set(format, (cpu.get(format) ?? 0) + after.mainThread - before.mainThread);
    });

    const rows = formats.map((format) => {
      const taken = samples.get(format) ?? [];
      const cell = (pick: (sample: Sample) => number) => {
        const summary = summarize(taken.map(pick));
        return `${formatMilliseconds(summary.p50)} / ${formatMilliseconds(summary.max)}`;
      };
      return [
        format.name,
        cell((sample) => sample.firstByteMs),
        cell((sample) => sample.firstTokenMs),
        cell((sample) => sample.totalMs),
        formatCount(summarize(taken.map((sample) => sample.bytes)).p50),
        formatMilliseconds((cpu.get(format) ?? 0) / taken.length),
      ];
    });
    const report = [
      sectionHeading,
      '',
      `${runs} answers per format, one at a time, from \`npm run bench:formats${commandArguments()}\` on ${new Date().toISOString().slice(0, 10)}. PGlite, the manual sample, hybrid search; the stand-in answers ${timing.tokenCount} tokens after ${timing.timeToFirstTokenMs} ms, ${timing.interTokenDelayMs} ms apart. Times in ms from sending the request (p50 / max); CPU is the server's main thread per answer, read from /proc (10 ms ticks, so only the average over all runs means anything).`,
      '',
      markdownTable(
        ['Format', 'First byte', 'First token', 'End', 'Bytes / answer', 'Server CPU ms / answer'],
        rows,
      ),
      '',
    ].join('\n');
    console.log(report);
    if (write) {
      await writeBenchmarkSection(sectionHeading, report);
      console.error('bench:formats: results written to docs/benchmarks.md');
    }
    return 0;
  } finally {
    for (const child of children.reverse()) await child.stop();
    killAllChildren();
    await rm(dataDir, { recursive: true, force: true });
  }
});
