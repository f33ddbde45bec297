/**
 * The package as a consumer gets it: built and packed once (`npm run build && npm pack`, in a copy of
 * the checkout so that no dist/ appears here), the tarball unpacked into the node_modules of fresh
 * projects outside this repository, next to only what a consumer would install (the registry is out
 * of reach: the drivers and compilers are linked from this checkout's node_modules).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

/** Runs a command in `cwd`; resolves its stdout, rejects with all it printed. */
async function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    return (await execFileAsync(command, args, { cwd })).stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}${stderr}`);
  }
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = mkdtempSync(join(tmpdir(), 'sluice-package-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every subpath the package exports, and one function each must export. */
const SUBPATHS: Record<string, string> = {
  sluice: 'publish',
  'sluice/ioredis': 'ioredisDriver',
  'sluice/upstash': 'upstashDriver',
  'sluice/aws-lambda': 'lambdaDrainHandler',
  'sluice/vercel': 'vercelDrainHandler',
  'sluice/qstash': 'qstashDrainHandler',
  'sluice/http': 'createPublishEndpoint',
  'sluice/ops': 'topicStats',
};
/** The peer dependency that a subpath needs, and that its declarations may therefore name. */
const DRIVER_PEERS: Record<string, string> = {
  'sluice/ioredis': 'ioredis',
  'sluice/upstash': '@upstash/redis',
  'sluice/qstash': '@upstash/qstash',
};
const PEERS = Object.values(DRIVER_PEERS);
/** What the checkout never leaves on disk: copying it would be slow or would mask a build. */
const NOT_COPIED = new Set([
  'node_modules',
  '.git',
  'dist',
  '.serverless',
  '.esbuild',
  '.sluice',
  'coverage',
]);

interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
  readonly manifest: {
    exports: Record<string, unknown>;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
}

/** Builds and packs a copy of the checkout (its node_modules linked). */
async function pack(): Promise<Packed> {
  const copy = join(scratch, 'checkout');
  cpSync(root, copy, {
    recursive: true,
    filter: (source) => !NOT_COPIED.has(source.slice(root.length + 1).split('/')[0] ?? ''),
  });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  await run('npm', ['run', 'build'], copy);
  const stdout = await run('npm', ['pack', '--json', '--pack-destination', scratch], copy);
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack said nothing useful: ${stdout}`);
  const tarball = join(scratch, info.filename);
  return {
    tarball,
    files: info.files.map((file) => file.path),
    manifest: JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')),
  };
}

/** A fresh project outside the repository: the tarball unpacked as `sluice`, plus the named packages. */
async function consumer(name: string, packed: Packed, packages: readonly string[]): Promise<string> {
  const dir = join(scratch, name);
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@types'), { recursive: true });
  mkdirSync(join(modules, '@upstash'), { recursive: true });
  await run('tar', ['xzf', packed.tarball, '-C', dir], dir);
  cpSync(join(dir, 'package'), join(modules, 'sluice'), { recursive: true });
  rmSync(join(dir, 'package'), { recursive: true });
  const dependencies = Object.keys(packed.manifest.dependencies ?? {});
  for (const pkg of [...dependencies, ...packages])
    symlinkSync(join(root, 'node_modules', pkg), join(modules, pkg));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  return dir;
}

/** The packages a declaration file names outside its comments, following its relative imports; not node builtins. */
function packagesNamed(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const [, specifier = ''] of code.matchAll(/(?:from|import\(|require\()\s*['"]([^'"]+)['"]/g)) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
      else if (!isBuiltin(specifier)) {
        packages.add(
          specifier
            .split('/')
            .slice(0, specifier.startsWith('@') ? 2 : 1)
            .join('/'),
        );
      }
    }
  }
  return packages;
}

/** Runs tsc (this checkout's) over a consumer's project with `config` as its tsconfig; rejects with its errors. */
async function typecheck(dir: string, config: object): Promise<void> {
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], dir);
}

/** A strict consumer's compiler options: `skipLibCheck: false`, so every declaration the package ships is checked. */
const STRICT = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
};

let packed: Packed;
let full: string;

beforeAll(async () => {
  packed = await pack();
  full = await consumer('full', packed, [...PEERS, '@types/node', '@types/aws-lambda']);
}, 240_000);

describe('the packed tarball', () => {
  it('holds the MIT LICENSE, the README, both builds with their types, and no sources or tests', () => {
    expect(packed.files).toContain('LICENSE');
    expect(readFileSync(join(full, 'node_modules/sluice/LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 the sluice authors\n/,
    );
    expect(packed.files).toContain('README.md');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts']) {
      expect(packed.files).toContain(file);
    }
    expect(packed.files.filter((file) => /^(src|test|bench|functions)\//.test(file))).toEqual([]);
    // The drivers are peer dependencies: required where they are used, never bundled in.
    const cjs = (path: string) => readFileSync(join(full, 'node_modules/sluice/dist/cjs', path), 'utf8');
    expect(cjs('drivers/ioredis.js')).toContain('require("ioredis")');
    expect(cjs('drivers/upstash.js')).toContain('require("@upstash/redis")');
    expect(cjs('adapters/qstash.js')).toContain('require("@upstash/qstash")');
  });

  it('exports exactly the subpaths this test knows, each for import and require', () => {
    const subpaths = Object.keys(packed.manifest.exports).filter((subpath) => subpath !== './package.json');
    expect(subpaths.map((subpath) => `sluice${subpath.slice(1)}`).sort()).toEqual(
      Object.keys(SUBPATHS).sort(),
    );
    for (const subpath of subpaths) {
      expect(Object.keys(packed.manifest.exports[subpath] as object).sort(), subpath).toEqual([
        'import',
        'require',
      ]);
    }
  });

  it("each subpath's declarations name only node builtins, dependencies and that subpath's own peer", () => {
    const dependencies = Object.keys(packed.manifest.dependencies ?? {});
    for (const [subpath, conditions] of Object.entries(packed.manifest.exports)) {
      if (subpath === './package.json') continue;
      const peer = DRIVER_PEERS[`sluice${subpath.slice(1)}`];
      for (const [condition, { types }] of Object.entries(conditions as Record<string, { types: string }>)) {
        const named = packagesNamed(join(full, 'node_modules/sluice', types));
        const foreign = [...named].filter((pkg) => pkg !== peer && !dependencies.includes(pkg));
        expect(foreign, `${subpath} (${condition}) names packages it does not depend on`).toEqual([]);
      }
    }
  });
});

describe('a consumer of the packed tarball', () => {
  it('require()s every subpath from a .cjs file and import()s each from an .mjs file: the same modules', async () => {
    const names = JSON.stringify(Object.keys(SUBPATHS));
    writeFileSync(join(full, 'require.cjs'), consumerScript(names, 'require(n)'));
    writeFileSync(join(full, 'import.mjs'), consumerScript(names, 'await import(n)'));
    const required = JSON.parse(await run(process.execPath, ['require.cjs'], full));
    const imported = JSON.parse(await run(process.execPath, ['import.mjs'], full));
    for (const [subpath, name] of Object.entries(SUBPATHS)) {
      expect(required.exports[subpath], subpath).toContain(name);
      expect(required.exports[subpath], subpath).toEqual(imported.exports[subpath]);
    }
    // One copy of each module per module system: an error of one subpath is a SluiceError of the root.
    expect(required.error).toEqual({ name: 'InvalidOptionError', isSluiceError: true });
    expect(imported.error).toEqual(required.error);
  }, 60_000);

  it('with only sluice, ioredis and @types/node type-checks strictly, ESM and CommonJS, event types not any', async () => {
    const dir = await consumer('minimal', packed, ['ioredis', '@types/node']);
    writeFileSync(join(dir, 'handler.ts'), MINIMAL_HANDLER);
    writeFileSync(join(dir, 'handler.cts'), MINIMAL_CJS_HANDLER);
    await typecheck(dir, STRICT);
    const bundler = { module: 'ESNext', moduleResolution: 'Bundler' };
    await typecheck(dir, {
      compilerOptions: { ...STRICT.compilerOptions, ...bundler },
      files: ['handler.ts'],
    });
  }, 180_000);

  it('with every peer and @types/aws-lambda type-checks every subpath; the Lambda types accept theirs', async () => {
    writeFileSync(join(full, 'handler.ts'), FULL_HANDLER);
    await typecheck(full, STRICT);
  }, 180_000);
});

/** A consumer's script that loads every subpath (`load` of `n`), lists their exports, and throws one error. */
function consumerScript(names: string, load: string): string {
  return `const modules = {};
for (const n of ${names}) modules[n] = ${load};
const names = Object.fromEntries(Object.entries(modules).map(([n, m]) => [n, Object.keys(m).sort()]));
let error;
try {
  modules['sluice/aws-lambda'].lambdaDrainHandler({ driver: {}, topic: 'orders', group: 'billing' });
} catch (e) {
  error = { name: e.name, isSluiceError: e instanceof modules.sluice.SluiceError };
}
console.log(JSON.stringify({ exports: names, error }));
`;
}

const MINIMAL_HANDLER = `
import { type BatchHandler, type BatchResult, type DrainReport, publish } from 'sluice';
import { ioredisDriver } from 'sluice/ioredis';
import {
  type LambdaContextLike,
  type LambdaHttpEvent,
  type LambdaHttpResult,
  lambdaDrainHandler,
  lambdaPublishHandler,
} from 'sluice/aws-lambda';
import { vercelPublishHandler } from 'sluice/vercel';

const driver = ioredisDriver('redis://127.0.0.1:6379');
export const drainOrders = lambdaDrainHandler<{ orderId: number }>({
  driver,
  topic: 'orders',
  group: 'billing',
  handler: async (message) => {
    const id: number = message.data.orderId;
    return id;
  },
});
// A batch handler: the failures it lists (typed), the rest acknowledged; never both handlers.
const batch: BatchHandler<{ orderId: number }> = async (messages): Promise<BatchResult> => ({
  failed: messages.filter((m) => m.data.orderId < 0).map((m) => ({ id: m.id, retryAfterMs: 1_000 })),
});
export const drainBatches = lambdaDrainHandler({ driver, topic: 'orders', group: 'billing', batchHandler: batch });
// @ts-expect-error exactly one of handler and batchHandler
export const drainBoth = () => lambdaDrainHandler({ driver, topic: 'o', group: 'g', handler: () => {}, batchHandler: batch });
const publishOrders = lambdaPublishHandler({ driver, topics: ['orders'], token: 'secret' });
export const vercel = vercelPublishHandler;

export async function handler(event: LambdaHttpEvent, context: LambdaContextLike): Promise<LambdaHttpResult> {
  const report: DrainReport = await drainOrders({}, context);
  await publish(driver, 'orders', { data: { acked: report.acked } });
  const answer = await publishOrders(event);
  const status: number = answer.statusCode;
  // @ts-expect-error an event's body is a string: were the event type any, this would be accepted
  await publishOrders({ body: 42 });
  return { ...answer, statusCode: status };
}
`;

const MINIMAL_CJS_HANDLER = `
import { lambdaOpsHandler } from 'sluice/aws-lambda';
import { ioredisDriver } from 'sluice/ioredis';
import sluice = require('sluice');

const driver = ioredisDriver('redis://127.0.0.1:6379');
export const ops = lambdaOpsHandler({ driver, topics: ['orders'], token: 't' });
export const publish: typeof sluice.publish = sluice.publish;
`;

const FULL_HANDLER = `
import type { APIGatewayProxyHandlerV2, Context, ScheduledEvent } from 'aws-lambda';
import { publish } from 'sluice';
import { lambdaDrainHandler, lambdaOpsHandler, lambdaPublishHandler } from 'sluice/aws-lambda';
import { createPublishEndpoint, type SluiceConfig } from 'sluice/http';
import { ioredisDriver } from 'sluice/ioredis';
import { type TopicStats, topicStats } from 'sluice/ops';
import { qstashDrainHandler } from 'sluice/qstash';
import { upstashDriver } from 'sluice/upstash';
import { vercelDrainHandler } from 'sluice/vercel';

const driver = ioredisDriver('redis://127.0.0.1:6379');
export const rest = upstashDriver({ url: 'https://example.upstash.io', token: 't' });
export const both = [publish, qstashDrainHandler, vercelDrainHandler];

export const publishHandler: APIGatewayProxyHandlerV2 = lambdaPublishHandler({ driver, topics: ['orders'], token: 't' });
const drainOrders = lambdaDrainHandler({ driver, topic: 'orders', group: 'billing', handler: async () => {} });
export async function scheduled(event: ScheduledEvent, context: Context): Promise<void> {
  await drainOrders(event, context);
}
export const ops = lambdaOpsHandler;
export const endpoint = createPublishEndpoint({ driver, topics: ['orders'], token: 't' });
export async function stats(config: SluiceConfig): Promise<TopicStats> {
  return topicStats(driver, config.topic);
}
`;
