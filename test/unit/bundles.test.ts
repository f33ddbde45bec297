import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** Bundles a function entry as serverless.yml does (minified CommonJS for Node 20) and lists its packages. */
async function bundle(entry: string) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const packages = new Set(
    Object.keys(result.metafile.inputs)
      .map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  // What the output holds: the inputs list also has modules that tree shaking dropped whole.
  const held = Object.entries(Object.values(result.metafile.outputs)[0]?.inputs ?? {})
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([input]) => input);
  const modules = new Set(held.filter((input) => !input.includes('node_modules')));
  const output = result.outputFiles[0];
  return { packages, held, modules, bytes: output?.contents.byteLength ?? 0, text: output?.text ?? '' };
}

describe('function bundles hold only the driver they use', () => {
  it.each([
    'functions/aws/drain-upstash.ts',
    'functions/aws/publish-upstash.ts',
    'functions/aws/ops-upstash.ts',
    'functions/vercel/drain.ts',
    'functions/vercel/publish.ts',
    'functions/vercel/qstash-drain.ts',
  ])('%s: @upstash/redis, no ioredis', async (entry) => {
    const { packages, bytes } = await bundle(entry);
    expect(packages.has('@upstash/redis')).toBe(true);
    expect([...packages].filter((p) => p === 'ioredis' || p.startsWith('@ioredis'))).toEqual([]);
    expect(bytes).toBeGreaterThan(0);
  });

  it.each(['functions/aws/drain.ts', 'functions/aws/publish.ts', 'functions/aws/ops.ts'])(
    '%s: ioredis, no @upstash/*',
    async (entry) => {
      const { packages } = await bundle(entry);
      expect(packages.has('ioredis')).toBe(true);
      expect([...packages].filter((p) => p.startsWith('@upstash/'))).toEqual([]);
    },
  );

  it('a bundle carries the Lua scripts it runs, not the others (scripts are marked pure)', async () => {
    const scripts = (text: string) => [...new Set(text.match(/sluice-[a-z-]+/g))].sort();
    const drain = scripts((await bundle('functions/aws/drain.ts')).text);
    const publish = scripts((await bundle('functions/aws/publish.ts')).text);
    for (const name of [
      'sluice-reclaim',
      'sluice-reclaim-ordered',
      'sluice-tidy',
      'sluice-lease',
      'sluice-dead-letter',
    ])
      expect(drain).toContain(name);
    expect(publish).toContain('sluice-publish');
    for (const name of ['sluice-reclaim', 'sluice-tidy', 'sluice-lease', 'sluice-ops-stats'])
      expect(publish).not.toContain(name);
  });

  it.each(['functions/aws/publish.ts', 'functions/aws/publish-upstash.ts', 'functions/vercel/publish.ts'])(
    '%s: no drain settings or the drain option validator (loadEndpointConfig)',
    async (entry) => {
      const { modules } = await bundle(entry);
      const drainOnly = [
        'src/app/drain-settings.ts',
        'src/consume/options.ts',
        'src/consume/option-checks.ts',
      ];
      expect(drainOnly.filter((module) => modules.has(module))).toEqual([]);
    },
  );

  it.each(['functions/aws/drain.ts', 'functions/aws/publish.ts', 'functions/aws/ops.ts'])(
    '%s: one cluster-key-slot, the one ioredis uses (sluice accepts the version ioredis pins)',
    async (entry) => {
      const { held } = await bundle(entry);
      expect(held.filter((input) => input.endsWith('cluster-key-slot/lib/index.js'))).toHaveLength(1);
    },
  );

  it.each(['functions/vercel/drain.ts', 'functions/vercel/publish.ts'])(
    '%s: nothing of @upstash/qstash (its waker is a fetch; only the QStash drain verifies signatures)',
    async (entry) => {
      const { held } = await bundle(entry);
      expect(
        held.filter((input) => /node_modules\/(@upstash\/qstash|neverthrow|jose)\//.test(input)),
      ).toEqual([]);
    },
  );
});
