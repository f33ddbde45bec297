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
  return { packages, bytes: result.outputFiles[0]?.contents.byteLength ?? 0 };
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
});
