/**
 * The core stays portable: what runs on Cloudflare Workers (everything src/entry/worker.ts
 * imports) and the runtime-independent directories never import a Node module or read
 * `process.env`. Node-only code lives in the Node entry, the PGlite adapter, the file loader
 * and scripts/, and refuses to run on Workers with a clear message (src/core/runtime.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const source = join(root, 'src');

/** Directories whose every module must run anywhere (Node, Workers, a browser). */
const portableDirectories = [
  'src/core',
  'src/http',
  'src/answer',
  'src/retrieval',
  'src/embeddings',
  'src/client',
  'src/ui',
];
/** The Node adapters: allowed to use Node, never reachable from the Workers entry. */
const nodeOnly = [
  'src/entry/node.ts',
  'src/entry/node-server.ts',
  'src/entry/node-dependencies.ts',
  'src/store/open-store.ts',
  'src/store/pglite-store.ts',
  'src/store/pglite-worker.ts',
  'src/store/pglite-executor.ts',
  'src/ingest/load-files.ts',
];

const nodeBuiltins = new Set([
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'crypto',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'https',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
]);

interface Module {
  path: string;
  specifiers: string[];
  text: string;
}

function readModule(path: string): Module {
  return parseModule(path, readFileSync(path, 'utf8'));
}

function parseModule(path: string, text: string): Module {
  // Static imports and re-exports, dynamic imports, and require().
  const pattern =
    /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;
  const specifiers = [...text.matchAll(pattern)].map(
    (match) => (match[1] ?? match[2] ?? match[3] ?? match[4]) as string,
  );
  return { path, specifiers, text: stripComments(text) };
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Problems with one module: Node imports, `process.env` reads. */
function nodeDependencies(module: Module): string[] {
  const problems = module.specifiers
    .filter((specifier) => specifier.startsWith('node:') || nodeBuiltins.has(specifier))
    .map((specifier) => `imports ${specifier}`);
  if (/\bprocess\s*\.\s*env\b|\bprocess\s*\[/.test(module.text)) problems.push('reads process.env');
  return problems;
}

/** Every module of ours that `entry` reaches by imports (static or dynamic). */
function reachable(entry: string): Map<string, Module> {
  const seen = new Map<string, Module>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    const module = readModule(path);
    seen.set(path, module);
    for (const specifier of module.specifiers) {
      if (specifier.startsWith('.')) visit(resolve(dirname(path), specifier));
    }
  };
  visit(entry);
  return seen;
}

function filesUnder(directory: string): string[] {
  return readdirSync(join(root, directory), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

const report = (modules: Iterable<Module>) =>
  [...modules].flatMap((module) =>
    nodeDependencies(module).map((problem) => `${relative(root, module.path)} ${problem}`),
  );

describe('the portable core', () => {
  const workerModules = reachable(join(source, 'entry', 'worker.ts'));

  it('reaches the app, the store and the model clients from the Workers entry', () => {
    const paths = [...workerModules.keys()].map((path) => relative(root, path));
    expect(paths).toEqual(
      expect.arrayContaining([
        'src/http/app.ts',
        'src/store/postgres-request-stores.ts',
        'src/answer/create-generator.ts',
        'src/embeddings/create-embedder.ts',
      ]),
    );
  });

  it('imports no Node module and reads no process.env on the Workers path', () => {
    expect(report(workerModules.values())).toEqual([]);
  });

  it('keeps the Node adapters off the Workers path', () => {
    const paths = new Set([...workerModules.keys()].map((path) => relative(root, path)));
    expect(nodeOnly.filter((path) => paths.has(path))).toEqual([]);
  });

  it('keeps the runtime-independent directories free of Node', () => {
    const modules = portableDirectories.flatMap(filesUnder).map(readModule);
    expect(modules.length).toBeGreaterThan(40);
    expect(report(modules)).toEqual([]);
  });

  it('detects what it forbids', () => {
    const check = (text: string) => nodeDependencies(parseModule('example.ts', text));
    expect(check("import { readFile } from 'node:fs/promises';")).toEqual([
      'imports node:fs/promises',
    ]);
    expect(check("import path from 'path';")).toEqual(['imports path']);
    expect(check('const key = process.env.OPENAI_API_KEY;')).toEqual(['reads process.env']);
    expect(check("const { Worker } = await import('node:worker_threads');")).toEqual([
      'imports node:worker_threads',
    ]);
    expect(check('// process.env is read by the entry, not here')).toEqual([]);
  });
});
