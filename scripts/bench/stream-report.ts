/**
 * Turns the streaming benchmark's measurements into Markdown: one table per target and mode,
 * the server's own timings, the ratios to the floor, the targets, and a paragraph that says
 * what the numbers mean.
 */

import { formatMilliseconds, formatRatio, markdownTable, percentile } from './statistics.ts';
import type { ResponseMode, ShapeResult } from './stream-load.ts';

export type TargetName = 'floor' | 'pglite' | 'postgres';

export const targetLabels: Record<TargetName, string> = {
  floor: 'floor: bare node:http relay',
  pglite: 'streamrag, PGlite (embedded default)',
  postgres: 'streamrag, PostgreSQL',
};

/** One load shape run against one target in one mode. */
export interface ShapeMeasurement {
  target: TargetName;
  mode: ResponseMode;
  kind: 'burst' | 'steady';
  /** Burst size, or the in-flight count the steady rate aims at. */
  size: number;
  result: ShapeResult;
  /** CPU used during the whole shape (ramp-up and drain included). */
  cpu: CpuUse;
  /** Steady load only: CPU used between the end of the ramp-up and the end of the schedule. */
  plateauCpu?: CpuUse;
}

/** CPU milliseconds used by each process during a stretch of a load shape. */
export interface CpuUse {
  wallMs: number;
  /** The server's main thread: its event loop, where every request and token is handled. */
  serverMainMs: number;
  /** The server's other threads: PGlite's worker, garbage collection, compilation. */
  serverOtherMs: number;
  standInMs: number;
  clientMs: number;
  /** Everything busy on the machine (every process, the kernel's network work, steal). */
  machineMs: number;
}

export interface StreamBenchSettings {
  timeToFirstTokenMs: number;
  interTokenDelayMs: number;
  tokenCount: number;
  steadySeconds: number;
  steadyInFlight: number;
  burstRounds: number;
  generator: 'model' | 'extractive';
  /** A new connection per answer instead of keep-alive ones. */
  freshConnections: boolean;
}

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

function percentiles(values: readonly (number | undefined)[]): Percentiles {
  const sorted = values
    .filter((value): value is number => value !== undefined && Number.isFinite(value))
    .sort((left, right) => left - right);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    count: sorted.length,
  };
}

/** The numbers of one measurement the tables and the paragraph use. */
export interface ShapeSummary {
  answers: number;
  lost: number;
  failures: string[];
  firstByte: Percentiles;
  firstToken: Percentiles;
  end: Percentiles;
  /** First token minus the stand-in's own time to first token. */
  overhead: Percentiles;
  serverRetrieval: Percentiles;
  serverFirstToken: Percentiles;
  serverMainCpuPerAnswer: number;
  serverOtherCpuPerAnswer: number;
  standInCpuPerAnswer: number;
  clientCpuPerAnswer: number;
}

/** Percentiles and loss counts of one measurement. */
export function summarizeShape(
  measurement: ShapeMeasurement,
  settings: StreamBenchSettings,
): ShapeSummary {
  const { samples } = measurement.result;
  const failures = [
    ...samples.flatMap((sample) => (sample.failure === undefined ? [] : [sample.failure])),
    ...(measurement.result.rampUpFailures ?? []),
  ];
  const answers = samples.length + (measurement.result.rampUpSamples ?? 0);
  const usesStandIn = measurement.target === 'floor' || settings.generator === 'model';
  return {
    answers,
    lost: failures.length,
    failures,
    firstByte: percentiles(samples.map((sample) => sample.firstByteMs)),
    firstToken: percentiles(samples.map((sample) => sample.firstTokenMs)),
    end: percentiles(samples.map((sample) => sample.endMs)),
    // Only answers that came from the stand-in waited for its time to first token.
    overhead: percentiles(
      samples.map((sample) =>
        sample.firstTokenMs === undefined || !usesStandIn
          ? undefined
          : sample.firstTokenMs - settings.timeToFirstTokenMs,
      ),
    ),
    serverRetrieval: percentiles(
      samples.map((sample) =>
        sample.server?.embedMs === undefined
          ? undefined
          : sample.server.embedMs + sample.server.retrieveMs,
      ),
    ),
    serverFirstToken: percentiles(
      samples.map((sample) => sample.server?.firstTokenMs ?? undefined),
    ),
    serverMainCpuPerAnswer: measurement.cpu.serverMainMs / answers,
    serverOtherCpuPerAnswer: measurement.cpu.serverOtherMs / answers,
    standInCpuPerAnswer: measurement.cpu.standInMs / answers,
    clientCpuPerAnswer: measurement.cpu.clientMs / answers,
  };
}

function shapeLabel(measurement: ShapeMeasurement): string {
  return measurement.kind === 'burst'
    ? `burst of ${measurement.size}`
    : `steady, ~${measurement.size} in flight`;
}

function triple(values: Percentiles): string {
  return [values.p50, values.p95, values.p99].map(formatMilliseconds).join(' / ');
}

function pair(values: Percentiles): string {
  return [values.p50, values.p99].map(formatMilliseconds).join(' / ');
}

function serverCpuCell(summary: ShapeSummary): string {
  return `${formatMilliseconds(summary.serverMainCpuPerAnswer)} + ${formatMilliseconds(summary.serverOtherCpuPerAnswer)}`;
}

/** Cores each process kept busy: 1.00 is one core all the time. */
function plateauCores(cpu: CpuUse): string {
  const ours = cpu.serverMainMs + cpu.serverOtherMs + cpu.standInMs + cpu.clientMs;
  return [cpu.serverMainMs, cpu.serverOtherMs, cpu.standInMs, cpu.clientMs, cpu.machineMs - ours]
    .map((milliseconds) => (milliseconds / cpu.wallMs).toFixed(2))
    .join(' / ');
}

function lostCell(summary: ShapeSummary): string {
  return summary.lost === 0 ? '0' : `**${summary.lost}**`;
}

/** The Markdown tables and a paragraph of analysis for every measurement of a run. */
export function streamReport(
  measurements: readonly ShapeMeasurement[],
  settings: StreamBenchSettings,
): string {
  const summaries = new Map(
    measurements.map((measurement) => [measurement, summarizeShape(measurement, settings)]),
  );
  const summaryOf = (measurement: ShapeMeasurement) => summaries.get(measurement) as ShapeSummary;
  const find = (target: TargetName, mode: ResponseMode, kind: 'burst' | 'steady', size?: number) =>
    measurements.find(
      (measurement) =>
        measurement.target === target &&
        measurement.mode === mode &&
        measurement.kind === kind &&
        (size === undefined || measurement.size === size),
    );
  const targets = [...new Set(measurements.map((measurement) => measurement.target))];
  const sections: string[] = [];

  const targetRows = targetsRows(measurements, summaryOf, find, settings);
  const missed = targetRows.filter((row) => row[2] !== 'met').map((row) => row[0]);
  sections.push(
    analysisParagraph(measurements, summaryOf, find, settings),
    missed.length === 0
      ? 'Every target below was met in this run.\n'
      : `Missed in this run: ${missed.join('; ')}.\n`,
  );

  for (const target of targets) {
    const streamed = measurements.filter(
      (measurement) => measurement.target === target && measurement.mode === 'stream',
    );
    if (streamed.length === 0) continue;
    sections.push(
      `### ${targetLabels[target]}, streamed (SSE)\n`,
      markdownTable(
        [
          'Load',
          'Answers',
          'Lost',
          'First byte p50 / p95 / p99 (ms)',
          'First token p50 / p95 / p99 (ms)',
          'End p50 / p95 / p99 (ms)',
          `First-token overhead p50 / p99 (ms, minus ${settings.timeToFirstTokenMs})`,
          'Server CPU per answer: event loop + other threads (ms)',
        ],
        streamed.map((measurement) => {
          const summary = summaryOf(measurement);
          return [
            shapeLabel(measurement),
            String(summary.answers),
            lostCell(summary),
            triple(summary.firstByte),
            triple(summary.firstToken),
            triple(summary.end),
            pair(summary.overhead),
            serverCpuCell(summary),
          ];
        }),
      ),
      '',
    );
  }

  const buffered = measurements.filter((measurement) => measurement.mode === 'json');
  if (buffered.length > 0) {
    sections.push(
      '### streamrag, buffered (`Accept: application/json`) against streamed\n',
      markdownTable(
        [
          'Target',
          'Load',
          'Answers',
          'Lost',
          'Whole body p50 / p95 / p99 (ms)',
          'Streamed first byte p50 / p99 (ms)',
          'Streamed first token p50 / p99 (ms)',
          'Server CPU per answer, buffered; streamed (ms, event loop + other threads)',
        ],
        buffered.map((measurement) => {
          const summary = summaryOf(measurement);
          const streamed = find(measurement.target, 'stream', measurement.kind, measurement.size);
          const streamedSummary = streamed === undefined ? undefined : summaryOf(streamed);
          return [
            targetLabels[measurement.target],
            shapeLabel(measurement),
            String(summary.answers),
            lostCell(summary),
            triple(summary.end),
            streamedSummary === undefined ? '–' : pair(streamedSummary.firstByte),
            streamedSummary === undefined ? '–' : pair(streamedSummary.firstToken),
            `${serverCpuCell(summary)}; ${
              streamedSummary === undefined ? '–' : serverCpuCell(streamedSummary)
            }`,
          ];
        }),
      ),
      '',
    );
  }

  const inside = measurements.filter(
    (measurement) => measurement.target !== 'floor' && measurement.mode === 'stream',
  );
  if (inside.length > 0) {
    sections.push(
      '### Where the first token goes (streamrag, streamed)\n',
      'The server reports its own timings in the `done` event, counted from when its first ' +
        'middleware ran: embedding + search, and its first token. "Before the server" is the ' +
        "client's first token minus the server's: accepting the connection, parsing the request " +
        'and waiting for the event loop, plus delivering the frame.\n',
      markdownTable(
        [
          'Target',
          'Load',
          'Embed + search p50 / p99 (ms)',
          'Server first token p50 / p99 (ms)',
          'Client first token p50 / p99 (ms)',
          'Before the server, p50 (ms)',
          'CPU per answer: stand-in / client (ms)',
        ],
        inside.map((measurement) => {
          const summary = summaryOf(measurement);
          return [
            targetLabels[measurement.target],
            shapeLabel(measurement),
            pair(summary.serverRetrieval),
            pair(summary.serverFirstToken),
            pair(summary.firstToken),
            formatMilliseconds(summary.firstToken.p50 - summary.serverFirstToken.p50),
            [summary.standInCpuPerAnswer, summary.clientCpuPerAnswer]
              .map(formatMilliseconds)
              .join(' / '),
          ];
        }),
      ),
      '',
    );
  }

  const ratioRows: string[][] = [];
  for (const measurement of inside) {
    const floor = find('floor', 'stream', measurement.kind, measurement.size);
    if (floor === undefined) continue;
    const ours = summaryOf(measurement);
    const theirs = summaryOf(floor);
    ratioRows.push([
      targetLabels[measurement.target],
      shapeLabel(measurement),
      formatRatio(ours.firstByte.p50 / theirs.firstByte.p50),
      formatRatio(ours.firstByte.p99 / theirs.firstByte.p99),
      formatRatio(ours.overhead.p50 / theirs.overhead.p50),
      formatRatio(ours.overhead.p99 / theirs.overhead.p99),
      `${pair(theirs.firstByte)}; ${pair(theirs.overhead)}`,
    ]);
  }
  if (ratioRows.length > 0) {
    sections.push(
      '### Ratio to the floor\n',
      markdownTable(
        [
          'Target',
          'Load',
          'First byte p50',
          'First byte p99',
          'First-token overhead p50',
          'First-token overhead p99',
          'Floor: first byte; overhead p50 / p99 (ms)',
        ],
        ratioRows,
      ),
      '',
    );
  }

  const steady = measurements.filter((measurement) => measurement.kind === 'steady');
  if (steady.length > 0) {
    sections.push(
      '### Steady load: what the client achieved\n',
      markdownTable(
        [
          'Target',
          'Mode',
          'Arrivals/s asked / achieved',
          'In flight mean (min–max)',
          'Client lateness p99 (ms)',
          'Client event-loop delay p99 / max (ms)',
          'Cores busy on the plateau: server event loop / other server threads / stand-in / client / rest of the machine, which includes PostgreSQL (±0.05)',
        ],
        steady.map((measurement) => {
          const { result } = measurement;
          const lateness = percentiles(result.samples.map((sample) => sample.lateMs));
          return [
            targetLabels[measurement.target],
            measurement.mode,
            `${result.arrivalRate?.target.toFixed(1)} / ${result.arrivalRate?.achieved.toFixed(1)}`,
            `${result.inFlight?.mean.toFixed(1)} (${result.inFlight?.min}–${result.inFlight?.max})`,
            formatMilliseconds(lateness.p99),
            `${formatMilliseconds(result.client.loopDelayP99Ms)} / ${formatMilliseconds(result.client.loopDelayMaxMs)}`,
            plateauCores(measurement.plateauCpu ?? measurement.cpu),
          ];
        }),
      ),
      '',
    );
  }

  sections.push('### Targets\n', markdownTable(['Target', 'Measured', ''], targetRows), '');

  const failures = measurements.flatMap((measurement) =>
    summaryOf(measurement).failures.map(
      (failure) =>
        `${targetLabels[measurement.target]}, ${measurement.mode}, ${shapeLabel(measurement)}: ${failure}`,
    ),
  );
  if (failures.length > 0) {
    const counted = new Map<string, number>();
    for (const failure of failures) counted.set(failure, (counted.get(failure) ?? 0) + 1);
    sections.push(
      '### Lost answers\n',
      [...counted].map(([failure, count]) => `- ${count} × ${failure}`).join('\n'),
      '',
    );
  }
  return sections.join('\n');
}

type Find = (
  target: TargetName,
  mode: ResponseMode,
  kind: 'burst' | 'steady',
  size?: number,
) => ShapeMeasurement | undefined;

/** One row per target of the issue: what it asks, what was measured, met or not. */
function targetsRows(
  measurements: readonly ShapeMeasurement[],
  summaryOf: (measurement: ShapeMeasurement) => ShapeSummary,
  find: Find,
  settings: StreamBenchSettings,
): string[][] {
  const rows: string[][] = [];
  const verdict = (met: boolean) => (met ? 'met' : '**not met**');
  const largestBurst = Math.max(
    ...measurements.filter((measurement) => measurement.kind === 'burst').map((m) => m.size),
  );
  for (const target of ['pglite', 'postgres'] as const) {
    const steady = find(target, 'stream', 'steady');
    if (steady !== undefined) {
      const summary = summaryOf(steady);
      rows.push(
        [
          `${targetLabels[target]}: steady (~${steady.size} in flight), first byte p50 ≤ 10 ms`,
          formatMilliseconds(summary.firstByte.p50),
          verdict(summary.firstByte.p50 <= 10),
        ],
        [
          `${targetLabels[target]}: steady, first byte p99 ≤ 50 ms`,
          formatMilliseconds(summary.firstByte.p99),
          verdict(summary.firstByte.p99 <= 50),
        ],
      );
    }
    const burst = find(target, 'stream', 'burst', largestBurst);
    const floor = find('floor', 'stream', 'burst', largestBurst);
    if (burst !== undefined && floor !== undefined && settings.generator === 'model') {
      const ours = summaryOf(burst);
      const theirs = summaryOf(floor);
      const ratios = {
        byteP50: ours.firstByte.p50 / theirs.firstByte.p50,
        byteP99: ours.firstByte.p99 / theirs.firstByte.p99,
        overheadP50: ours.overhead.p50 / theirs.overhead.p50,
        overheadP99: ours.overhead.p99 / theirs.overhead.p99,
      };
      rows.push(
        [
          `${targetLabels[target]}: burst of ${largestBurst} ≤ 1.5× the floor at p50 (first byte; first-token overhead)`,
          `${formatRatio(ratios.byteP50)}; ${formatRatio(ratios.overheadP50)}`,
          verdict(ratios.byteP50 <= 1.5 && ratios.overheadP50 <= 1.5),
        ],
        [
          `${targetLabels[target]}: burst of ${largestBurst} ≤ 2× the floor at p99 (first byte; first-token overhead)`,
          `${formatRatio(ratios.byteP99)}; ${formatRatio(ratios.overheadP99)}`,
          verdict(ratios.byteP99 <= 2 && ratios.overheadP99 <= 2),
        ],
      );
    }
  }
  const lost = measurements.reduce((sum, measurement) => sum + summaryOf(measurement).lost, 0);
  const answers = measurements.reduce(
    (sum, measurement) => sum + summaryOf(measurement).answers,
    0,
  );
  rows.push([
    `No answer lost (all targets, modes and loads)`,
    `${lost} of ${answers}`,
    verdict(lost === 0),
  ]);
  return rows;
}

/** A paragraph generated from the numbers: where the time goes, and what missed. */
function analysisParagraph(
  measurements: readonly ShapeMeasurement[],
  summaryOf: (measurement: ShapeMeasurement) => ShapeSummary,
  find: Find,
  settings: StreamBenchSettings,
): string {
  const sentences: string[] = [];
  const floorSteady = find('floor', 'stream', 'steady');
  const largestBurst = Math.max(
    ...measurements.filter((measurement) => measurement.kind === 'burst').map((m) => m.size),
  );
  const floorBurst = find('floor', 'stream', 'burst', largestBurst);
  for (const target of ['pglite', 'postgres'] as const) {
    const steady = find(target, 'stream', 'steady');
    const burst = find(target, 'stream', 'burst', largestBurst);
    const label = target === 'pglite' ? 'On PGlite' : 'On PostgreSQL';
    if (steady !== undefined) {
      const summary = summaryOf(steady);
      const floorText =
        floorSteady === undefined
          ? ''
          : ` (the bare relay: ${pair(summaryOf(floorSteady).firstByte)} ms and ${pair(summaryOf(floorSteady).overhead)} ms)`;
      sentences.push(
        `${label}, with ~${formatMilliseconds(steady.result.inFlight?.mean ?? Number.NaN)} streams in flight, ` +
          `the first byte came at p50 / p99 ${pair(summary.firstByte)} ms and the first token ` +
          `${pair(summary.overhead)} ms after the stand-in's own ${settings.timeToFirstTokenMs} ms${floorText}; ` +
          `inside the server, embedding + search took ${pair(summary.serverRetrieval)} ms and the ` +
          `server's own first token came at ${pair(summary.serverFirstToken)} ms, for ` +
          `${serverCpuCell(summary)} ms of server CPU per answer (event loop + other threads)` +
          (floorSteady === undefined
            ? ''
            : ` against ${serverCpuCell(summaryOf(floorSteady))} ms for the relay`) +
          (steady.plateauCpu === undefined
            ? '.'
            : `; on the plateau the server's event loop kept ${(steady.plateauCpu.serverMainMs / steady.plateauCpu.wallMs).toFixed(2)} of a core busy.`),
      );
    }
    if (burst !== undefined && floorBurst !== undefined) {
      const ours = summaryOf(burst);
      const theirs = summaryOf(floorBurst);
      sentences.push(
        `In a burst of ${largestBurst}, first byte p50 / p99 was ${pair(ours.firstByte)} ms ` +
          `(${formatRatio(ours.firstByte.p50 / theirs.firstByte.p50)} / ${formatRatio(ours.firstByte.p99 / theirs.firstByte.p99)} the floor) ` +
          `and the first-token overhead ${pair(ours.overhead)} ms ` +
          `(${formatRatio(ours.overhead.p50 / theirs.overhead.p50)} / ${formatRatio(ours.overhead.p99 / theirs.overhead.p99)}).`,
      );
    }
    const bufferedSteady =
      find(target, 'json', 'steady') ?? find(target, 'json', 'burst', largestBurst);
    if (bufferedSteady !== undefined) {
      const streamed = find(target, 'stream', bufferedSteady.kind, bufferedSteady.size);
      if (streamed !== undefined) {
        sentences.push(
          `Buffered (JSON), the same ${shapeLabel(bufferedSteady)} waited ${pair(summaryOf(bufferedSteady).end)} ms ` +
            `for the whole body, against a streamed first byte of ${pair(summaryOf(streamed).firstByte)} ms.`,
        );
      }
    }
  }
  const lost = measurements.reduce((sum, measurement) => sum + summaryOf(measurement).lost, 0);
  sentences.push(
    lost === 0 ? 'No answer was lost.' : `**${lost} answers were lost** (listed below).`,
  );
  return `${sentences.join(' ')}\n`;
}
