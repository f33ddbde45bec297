/**
 * The dashboard's look at 1400 px (desktop) and 390 px (phone) in headless Chromium: the real page
 * from the real ops endpoint, its API answered with fixed data (test/support/dashboard-fixture.ts)
 * on a fixed clock, so that every run renders the same pixels. Checked: no axis label is clipped
 * (lag past 200,000), nothing is wider than the screen, and the screenshot matches the committed
 * baseline (test/e2e/__screenshots__/dashboard-<width>.png) within a tolerant pixel diff
 * (test/support/screenshot-diff.ts). A page that breaks shows up as thousands of differing pixels.
 *
 * Refresh the baselines after a deliberate change of the page, and look at them:
 *   SLUICE_UPDATE_SCREENSHOTS=1 npx vitest run test/e2e/dashboard-screenshots.test.ts
 *
 * The data and interactions (polls, redrive, paging, purge) against redis-server are the other
 * dashboard tests; this one is about what the page looks like. Chromium: test/support/chromium.ts.
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createOpsEndpoint } from '../../src/http/ops-endpoint.js';
import { browserSuite } from '../support/chromium.js';
import {
  ADMIN_TOKEN,
  type Browser,
  card,
  launch,
  serve,
  signIn,
  waitForPoints,
} from '../support/dashboard-browser.js';
import { deadLettersOf, POLL_MS, POLLS, statsAt, T0 } from '../support/dashboard-fixture.js';
import { withHistory } from '../support/dashboard-history-fixture.js';
import { newDriver } from '../support/fixtures.js';
import { compareWithBaseline } from '../support/screenshot-diff.js';

// What the functions evaluated in the page use of the DOM (the project compiles without the DOM library).
interface Box {
  readonly x: number;
  readonly width: number;
}
declare const window: { scrollTo(x: number, y: number): void };
declare const document: {
  readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
  querySelectorAll(selector: string): ArrayLike<{
    readonly scrollWidth: number;
    readonly clientWidth: number;
    getBBox(): Box;
    readonly ownerSVGElement: { readonly viewBox: { readonly baseVal: Box } };
    readonly textContent: string | null;
    closest(selector: string): { getAttribute(name: string): string | null } | null;
  }>;
};

const json = (route: Route, body: unknown) =>
  route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });

browserSuite('dashboard screenshots', (chromiumPath) => {
  let server: { url: string; close: () => Promise<void> } | undefined;
  const browsers: Browser[] = [];

  beforeAll(async () => {
    // The endpoint serves the page; its data routes are answered by the fixture in the browser.
    server = await serve(
      createOpsEndpoint({
        driver: newDriver(),
        topics: ['orders', 'refunds'],
        token: ADMIN_TOKEN,
        logger: silentLogger,
      }),
    );
  });

  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await server?.close();
  });

  /** The dashboard at `width`, after POLLS polls of the fixture, billing's newest dead letter opened. */
  async function render(width: number): Promise<{ page: Page; browser: Browser }> {
    const browser = await launch(chromiumPath);
    browsers.push(browser);
    const page = await browser.newPage({ width, height: 900 });
    // Paused: no timer fires and no time passes but by runFor (a poll every POLL_MS).
    await page.clock.install({ time: T0 - 1_000 });
    await page.clock.pauseAt(T0);
    let polls = 0;
    await page.route(
      (url) => url.pathname.endsWith('/ops/stats'),
      (route) => {
        const stats = statsAt(polls++);
        return json(route, route.request().url().includes('history=1') ? withHistory(stats) : stats);
      },
    );
    await page.route('**/ops/topics/*/groups/*/dead-letters?*', (route) => {
      const url = new URL(route.request().url());
      const group = decodeURIComponent(url.pathname.split('/').at(-2) ?? '');
      const page = url.searchParams.get('order') === 'newest' ? deadLettersOf(group) : undefined;
      return page
        ? json(route, page)
        : route.fulfill({ status: 500, body: '{"error":"not in the fixture"}' });
    });
    await signIn(page, `${server?.url}/ops`);
    await waitForPoints(page, 'orders', 'billing', 1);
    for (let n = 2; n <= POLLS; n++) {
      await page.clock.runFor(POLL_MS);
      await waitForPoints(page, 'orders', 'billing', n);
    }
    const billing = card('orders', 'billing');
    await page.waitForSelector(`${billing} tbody tr.letter >> nth=19`);
    await page.waitForSelector(`${card('orders', 'shipping')} tbody tr.letter`);
    await page.click(`${billing} tbody tr.letter >> nth=0`);
    await page.waitForSelector(`${billing} tr.detail pre.payload-full`, { state: 'visible' });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.mouse.move(0, 0); // no hover highlight where the click left the pointer
    return { page, browser };
  }

  /** Axis labels that stick out of their chart (the old clipped "00,000"). */
  const clippedLabels = (page: Page) =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('svg text.axis'))
        .filter((label) => {
          const box = label.getBBox();
          return box.x < 0 || box.x + box.width > label.ownerSVGElement.viewBox.baseVal.width;
        })
        .map((label) => label.textContent),
    );

  /** Elements wider than the screen, or than the group card that holds them. */
  const overflowing = (page: Page) =>
    page.evaluate(() => [
      ...(document.documentElement.scrollWidth > document.documentElement.clientWidth
        ? [`the page: ${document.documentElement.scrollWidth} px`]
        : []),
      ...Array.from(document.querySelectorAll('article.group'))
        .filter((group) => group.scrollWidth > group.clientWidth)
        .map((group) => `group card ${group.closest('article')?.getAttribute('data-group')}`),
    ]);

  for (const width of [1400, 390]) {
    it(`at ${width} px: no clipped label, nothing wider than the screen, the baseline's pixels`, async () => {
      const { page, browser } = await render(width);
      expect(await clippedLabels(page)).toEqual([]);
      expect(await overflowing(page)).toEqual([]);
      expect(await page.textContent(`${card('orders', 'billing')} [data-metric="lag"] .metric-value`)).toBe(
        '208,506',
      );
      const shot = await page.screenshot({ fullPage: true, animations: 'disabled', caret: 'hide' });
      const { problem } = compareWithBaseline(shot, `dashboard-${width}`);
      expect(problem).toBeNull();
      expect(browser.problems).toEqual([]);
    }, 90_000);
  }
});
