/** Where the browser tests look for a Chromium (test/support/chromium.ts), in order. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium, noBrowserMessage } from '../support/chromium.js';

const root = mkdtempSync(join(tmpdir(), 'sluice-chromium-lookup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeExecutable(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

const home = join(root, 'home');
const named = fakeExecutable(join(root, 'bin/my-chrome'));
const system = fakeExecutable(join(root, 'usr/bin/chromium'));
const older = fakeExecutable(join(home, '.cache/ms-playwright/chromium-1100/chrome-linux/chrome'));
const newer = fakeExecutable(join(home, '.cache/ms-playwright/chromium-1200/chrome-linux/chrome'));

describe('findChromium', () => {
  it('takes SLUICE_CHROMIUM first, then CHROME_PATH', () => {
    expect(
      findChromium({ env: { SLUICE_CHROMIUM: named, CHROME_PATH: system }, home, system: [system] }).path,
    ).toBe(named);
    expect(findChromium({ env: { CHROME_PATH: named }, home, system: [system] }).path).toBe(named);
  });

  it("then the system's package, then Playwright's newest build", () => {
    expect(findChromium({ env: {}, home, system: [system] }).path).toBe(system);
    expect(findChromium({ env: {}, home, system: [join(root, 'none')] }).path).toBe(newer);
    expect(older).not.toBe(newer);
  });

  it('finds none, saying where it looked and how to enable the tests', () => {
    const lookup = findChromium({ env: {}, home: join(root, 'empty'), system: [join(root, 'none')] });
    expect(lookup.path).toBeUndefined();
    expect(lookup.problem).toBeUndefined();
    const message = noBrowserMessage(lookup);
    expect(message).toContain(join(root, 'none'));
    expect(message).toContain('apt-get install -y chromium');
    expect(message).toContain('SLUICE_CHROMIUM=');
  });

  it('reports a variable naming a browser that is not there, instead of looking further', () => {
    const lookup = findChromium({ env: { SLUICE_CHROMIUM: join(root, 'gone') }, home, system: [system] });
    expect(lookup.path).toBeUndefined();
    expect(lookup.problem).toBe(`SLUICE_CHROMIUM=${join(root, 'gone')} is not an executable file`);
  });
});
