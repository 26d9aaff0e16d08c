/**
 * npm run deploy:check — builds the Worker exactly as `wrangler deploy` would (`--dry-run`:
 * nothing is uploaded, no account needed), then reports the bundle's size against Cloudflare's
 * limits and checks that nothing Node-only (PGlite, the HTML extractors) was bundled. Exits
 * non-zero if the build fails, the bundle is over the Free plan's limit, or a Node-only package
 * got in.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
// Cloudflare's limits on a Worker's compressed size: 3 MB on the Free plan, 10 MB on Paid.
const freePlanLimit = 3 * 1024 * 1024;
const paidPlanLimit = 10 * 1024 * 1024;
// Packages that must never reach the Worker: PGlite (and its WebAssembly), the file ingestion.
const nodeOnlyPackages = [
  '@electric-sql/',
  'node-html-parser',
  'node-html-markdown',
  'cli-progress',
];

const directory = await mkdtemp(join(tmpdir(), 'streamrag-deploy-check-'));
try {
  const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
  await run(
    wrangler,
    ['deploy', '--dry-run', '--outdir', directory, '--metafile', join(directory, 'meta.json')],
    {
      cwd: root,
      env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
      maxBuffer: 16 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(
      `wrangler deploy --dry-run failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
  });
  const bundle = await readFile(join(directory, 'worker.js'));
  const gzipped = gzipSync(bundle, { level: 9 }).byteLength;
  const meta = JSON.parse(await readFile(join(directory, 'meta.json'), 'utf8')) as {
    inputs: Record<string, { bytes: number }>;
  };
  const inputs = Object.keys(meta.inputs);
  const forbidden = inputs.filter((input) =>
    nodeOnlyPackages.some((name) => input.includes(`node_modules/${name}`)),
  );
  // postgres.js has a build for workerd (cloudflare:sockets); the Node one cannot connect there.
  const workersPostgres = inputs.some((input) => input.includes('node_modules/postgres/cf/'));
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log(
    `Worker bundle: ${kib(bundle.byteLength)} (${kib(gzipped)} gzipped), ${inputs.length} modules; ` +
      `limits: ${kib(freePlanLimit)} gzipped on the Free plan, ${kib(paidPlanLimit)} on Paid.`,
  );
  const toml = await readFile(join(root, 'wrangler.toml'), 'utf8');
  if (/^id\s*=\s*"0+"/m.test(toml)) {
    console.warn(
      'note: wrangler.toml has the placeholder Hyperdrive id; put yours there before `wrangler deploy` (README, "Deploying to Cloudflare Workers").',
    );
  }
  if (!workersPostgres) {
    console.error("error: the bundle does not hold postgres.js's Workers build (postgres/cf/)");
    process.exitCode = 1;
  }
  if (forbidden.length > 0) {
    console.error(`error: Node-only code in the Worker bundle:\n  ${forbidden.join('\n  ')}`);
    process.exitCode = 1;
  } else if (gzipped > freePlanLimit) {
    console.error('error: the bundle is over the Free plan limit');
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await rm(directory, { recursive: true, force: true });
}
