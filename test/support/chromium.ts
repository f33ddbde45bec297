/**
 * Finding a Chromium for the browser tests, and what a test file does when there is none.
 *
 * Looked for, first found wins:
 * 1. `SLUICE_CHROMIUM`, then `CHROME_PATH`: the path of a Chromium or Chrome executable;
 * 2. Debian's package: `/usr/bin/chromium`, `/usr/bin/chromium-browser`;
 * 3. Playwright's download cache (`npx playwright install chromium`):
 *    `$PLAYWRIGHT_BROWSERS_PATH` or `~/.cache/ms-playwright`, `chromium-<build>/chrome-linux*∕chrome`,
 *    newest build first.
 *
 * None found: the browser tests cannot run. `npm test` must still pass on a machine with only
 * redis-server, so {@link browserSuite} then registers one test that passes and prints one loud line
 * saying how to enable them — unless `SLUICE_REQUIRE_BROWSER=1` (CI sets it in `.ci/run`), which
 * makes that test fail. Never a skip.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

export interface ChromiumLookup {
  /** The executable to launch; undefined when none was found. */
  readonly path: string | undefined;
  /** Where it was looked for, in order (for the message when none was found). */
  readonly tried: readonly string[];
  /** Set when an environment variable names a path that is not an executable: a mistake to report. */
  readonly problem?: string;
}

const ENV_VARIABLES = ['SLUICE_CHROMIUM', 'CHROME_PATH'] as const;
const DEBIAN = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Playwright's Chromium builds under `cache`, newest build first. */
function playwrightBuilds(cache: string): string[] {
  let names: string[];
  try {
    names = readdirSync(cache);
  } catch {
    return [join(cache, 'chromium-*/chrome-linux/chrome')];
  }
  const build = (name: string) => Number(name.slice('chromium-'.length));
  return names
    .filter((name) => /^chromium-\d+$/.test(name))
    .sort((a, b) => build(b) - build(a))
    .flatMap((name) => [
      join(cache, name, 'chrome-linux/chrome'),
      join(cache, name, 'chrome-linux64/chrome'),
    ]);
}

/** The Chromium the browser tests use (see the file's comment for the order). */
export function findChromium({
  env = process.env,
  home = homedir(),
  system = DEBIAN,
}: {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly home?: string;
  /** The system's own packages' paths. */
  readonly system?: readonly string[];
} = {}): ChromiumLookup {
  const tried: string[] = [];
  for (const name of ENV_VARIABLES) {
    const value = env[name];
    if (!value) continue;
    tried.push(`${name}=${value}`);
    if (executable(value)) return { path: value, tried };
    return { path: undefined, tried, problem: `${name}=${value} is not an executable file` };
  }
  const cache = env.PLAYWRIGHT_BROWSERS_PATH || join(home, '.cache/ms-playwright');
  for (const candidate of [...system, ...playwrightBuilds(cache)]) {
    tried.push(candidate);
    if (executable(candidate)) return { path: candidate, tried };
  }
  return { path: undefined, tried };
}

/** The one line printed (or failed with) when the browser tests cannot run. */
export function noBrowserMessage(lookup: ChromiumLookup): string {
  return (
    `BROWSER TESTS NOT RUN: ${lookup.problem ?? 'no Chromium found'} (looked at ${lookup.tried.join(', ')}). ` +
    'Enable them: apt-get install -y chromium, or SLUICE_CHROMIUM=/path/to/chrome npm test. ' +
    'SLUICE_REQUIRE_BROWSER=1 (set by .ci/run) makes a missing browser fail.'
  );
}

/**
 * `describe(name, () => body(chromiumPath))` when a Chromium is found; otherwise one test that
 * warns loudly and passes, or fails when `SLUICE_REQUIRE_BROWSER=1` or when a variable names a
 * browser that is not there (asked for, so its absence is a mistake).
 */
export function browserSuite(name: string, body: (chromiumPath: string) => void): void {
  const lookup = findChromium();
  if (lookup.path !== undefined) {
    const path = lookup.path;
    describe(name, () => body(path));
    return;
  }
  const message = noBrowserMessage(lookup);
  describe(name, () => {
    it('needs a Chromium to run (see the warning)', () => {
      if (process.env.SLUICE_REQUIRE_BROWSER === '1' || lookup.problem) expect.fail(message);
      console.warn(`⚠ ${message}`);
    });
  });
}
