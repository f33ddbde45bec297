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
  const output = result.outputFiles[0];
  return { packages, bytes: output?.contents.byteLength ?? 0, text: output?.text ?? '' };
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
});
