/**
 * Screenshots compared with a committed baseline (test/e2e/__screenshots__/<name>.png) by a
 * tolerant pixel diff (pixelmatch): anti-aliasing and colour differences below pixelmatch's
 * threshold do not count, and up to `maxDiffRatio` of the pixels may differ (0.2 %: runs on one
 * machine were seen to differ by at most 555 pixels of anti-aliasing, 0.03 %). A different size, or
 * more differing pixels, fails, and the actual screenshot and a diff image are left in the temporary
 * directory for review. `SLUICE_UPDATE_SCREENSHOTS=1` writes the actual one as the new baseline.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

export const SCREENSHOTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../e2e/__screenshots__');

export interface ScreenshotComparison {
  /** Null when the baseline was (re)written instead of compared. */
  readonly problem: string | null;
  readonly diffPixels: number;
}

/** Compares `actual` (PNG bytes) with the baseline `<name>.png`; see the file's comment. */
export function compareWithBaseline(
  actual: Buffer,
  name: string,
  { maxDiffRatio = 0.002, threshold = 0.1 } = {},
): ScreenshotComparison {
  const baselinePath = join(SCREENSHOTS_DIR, `${name}.png`);
  if (process.env.SLUICE_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(SCREENSHOTS_DIR, { recursive: true });
    writeFileSync(baselinePath, actual);
    return { problem: null, diffPixels: 0 };
  }
  const update = 'review it, then SLUICE_UPDATE_SCREENSHOTS=1 npx vitest run <this test file> to accept it';
  const keep = (suffix: string, png: Buffer) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-screenshot-'));
    const path = join(dir, `${name}.${suffix}.png`);
    writeFileSync(path, png);
    return path;
  };
  if (!existsSync(baselinePath)) {
    return {
      problem: `no baseline ${baselinePath}; the screenshot is at ${keep('actual', actual)}: ${update}`,
      diffPixels: 0,
    };
  }
  const expected = PNG.sync.read(readFileSync(baselinePath));
  const got = PNG.sync.read(actual);
  if (expected.width !== got.width || expected.height !== got.height) {
    return {
      problem:
        `${name}: ${got.width}×${got.height} px, the baseline is ${expected.width}×${expected.height}; ` +
        `the screenshot is at ${keep('actual', actual)}: ${update}`,
      diffPixels: Number.POSITIVE_INFINITY,
    };
  }
  const diff = new PNG({ width: got.width, height: got.height });
  const diffPixels = pixelmatch(expected.data, got.data, diff.data, got.width, got.height, { threshold });
  const allowed = Math.floor(got.width * got.height * maxDiffRatio);
  if (diffPixels <= allowed) return { problem: null, diffPixels };
  return {
    problem:
      `${name}: ${diffPixels} pixels differ from the baseline (at most ${allowed} may); ` +
      `actual ${keep('actual', actual)}, diff ${keep('diff', PNG.sync.write(diff))}: ${update}`,
    diffPixels,
  };
}
