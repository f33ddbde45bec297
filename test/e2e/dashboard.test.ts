/**
 * The dashboard end to end in headless Chromium (driven by playwright-core): the ops endpoint behind
 * a small local HTTP server, a topic with lag, pending entries and dead letters in two groups, the
 * page opened and signed in, its statistics and chart rendered over a dozen polls, then a click on
 * one group's Redrive button — checked in Redis (that group's dead letters back in its pending list,
 * the other group untouched) and on the page. Dead-letter paging and purge:
 * dashboard-dead-letters.test.ts; the look at 1400 and 390 px: dashboard-screenshots.test.ts.
 *
 * Needs a Chromium (test/support/chromium.ts finds one: SLUICE_CHROMIUM, CHROME_PATH, Debian's
 * /usr/bin/chromium, Playwright's cache). Without one a single test passes with a loud warning saying
 * how to enable the rest, or fails when SLUICE_REQUIRE_BROWSER=1 (as .ci/run sets it): never a skip.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import type { Message } from '../../src/core/envelope.js';
import { PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { createOpsEndpoint } from '../../src/http/ops-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { browserSuite } from '../support/chromium.js';
import {
  ADMIN_TOKEN,
  type Browser,
  launch,
  metricValue,
  serve,
  waitForPoints,
  waitForText,
} from '../support/dashboard-browser.js';
import { groupInfo, newDriver, randomTopic, rawClient } from '../support/fixtures.js';

declare const sessionStorage: { readonly length: number; getItem(key: string): string | null };

const TOKEN = ADMIN_TOKEN;
/** Polls the page makes: enough history for the chart to show a trend. */
const HISTORY_POLLS = 14;

const redis = rawClient();
const driver = newDriver();

browserSuite('dashboard in headless Chromium', (chromiumPath) => {
  const orders = randomTopic('orders');
  const refunds = randomTopic('refunds');
  const keys = streamKeys({ topic: orders });
  let server: { url: string; close: () => Promise<void> } | undefined;
  let baseUrl = '';
  let browser: Browser | undefined;
  let page: Page;
  let problems: string[] = [];

  /**
   * orders: billing dead-letters three orders (PermanentError), shipping one (a failure past
   * maxDeliveries); both then fall behind as more orders arrive. refunds: ledger is caught up.
   */
  async function arrange() {
    for (const group of ['billing', 'shipping'])
      await redis.xgroup('CREATE', keys.stream, group, '0', 'MKSTREAM');
    await redis.xgroup('CREATE', streamKeys({ topic: refunds }).stream, 'ledger', '0', 'MKSTREAM');
    await publishBatch(
      driver,
      orders,
      Array.from({ length: 12 }, (_, i) => ({
        data: { orderId: 1000 + i, amount: 1999 + 250 * i, currency: 'EUR' },
        key: `customer-${i % 4}`,
      })),
    );
    const cycle = { budgetMs: 3_000, blockMs: 20, idleExitMs: 50, trim: false, logger: silentLogger };
    await drain(driver, {
      ...cycle,
      topic: orders,
      group: 'billing',
      handler: (m: Message<{ orderId: number }>) => {
        if ([1003, 1007, 1010].includes(m.data.orderId))
          throw new PermanentError(`card declined for order ${m.data.orderId} (insufficient funds)`);
      },
    });
    const shipping = {
      ...cycle,
      topic: orders,
      group: 'shipping',
      maxDeliveries: 1,
      visibilityTimeoutMs: 1,
      maxRedeliveryDelayMs: 1,
      handler: (m: Message<{ orderId: number }>) => {
        if (m.data.orderId === 1005) throw new Error('warehouse API timed out after 10000 ms');
      },
    };
    await drain(driver, shipping);
    await drain(driver, shipping);
    await publishBatch(
      driver,
      refunds,
      [1, 2, 3, 4, 5].map((n) => ({ data: { refundId: n } })),
    );
    await drain(driver, { ...cycle, topic: refunds, group: 'ledger', handler: () => {} });
  }

  beforeAll(async () => {
    await arrange();
    server = await serve(
      createOpsEndpoint({ driver, topics: [orders, refunds], token: TOKEN, logger: silentLogger }),
    );
    baseUrl = server.url;
    browser = await launch(chromiumPath);
    problems = browser.problems;
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('asks for the admin token, and refuses a wrong one with the endpoint message', async () => {
    await page.goto(`${baseUrl}/ops?refresh=1`);
    await page.waitForSelector('#token', { state: 'visible' });
    await page.fill('#token', 'not-the-token');
    await page.click('#signin-form button[type="submit"]');
    await waitForText(page, '#signin-error', 'missing or invalid admin bearer token (SLUICE_ADMIN_TOKEN)');
    expect(await page.isVisible('#board')).toBe(false);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // Chromium logs the refused request itself ("… status of 401"): expected here, and only here.
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 401/.test(p)));
  });

  it('shows topics, groups, lag, pending, oldest pending age, consumers and dead letters, with a chart', async () => {
    await page.fill('#token', TOKEN);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector(`article[data-topic="${orders}"][data-group="billing"]`);
    expect(await page.evaluate(() => sessionStorage.getItem('sluice.adminToken'))).toBe(TOKEN);

    await waitForText(page, metricValue(orders, 'billing', 'deadLetters'), '3');
    await waitForText(page, metricValue(orders, 'shipping', 'deadLetters'), '1');
    await waitForText(page, metricValue(orders, 'billing', 'lag'), '0');
    await waitForText(page, metricValue(refunds, 'ledger', 'lag'), '0');

    // Traffic between polls, so that the chart shows lag and pending moving over time.
    let published = 12;
    for (let poll = 2; poll <= HISTORY_POLLS; poll++) {
      await waitForPoints(page, orders, 'billing', poll);
      const burst = poll <= 7 ? 3 + poll : Math.max(1, 12 - poll);
      await publishBatch(
        driver,
        orders,
        Array.from({ length: burst }, (_, i) => ({ data: { orderId: 1000 + published + i } })),
      );
      published += burst;
      // billing's worker reads some and acknowledges them late; shipping's catches up in steps.
      const read = (await redis.xreadgroup(
        'GROUP',
        'billing',
        'worker-1',
        'COUNT',
        poll < 9 ? 2 : 6,
        'STREAMS',
        keys.stream,
        '>',
      )) as [string, [string, string[]][]][] | null;
      if (poll > 9) {
        const pending = (await redis.xpending(keys.stream, 'billing', '-', '+', 4, 'worker-1')) as [string][];
        if (pending.length > 0) await redis.xack(keys.stream, 'billing', ...pending.map((p) => p[0]));
      }
      expect(read === null || read.length === 1).toBe(true);
      if (poll % 3 === 0) {
        const taken = (await redis.xreadgroup(
          'GROUP',
          'shipping',
          'worker-2',
          'COUNT',
          9,
          'STREAMS',
          keys.stream,
          '>',
        )) as [string, [string, string[]][]][] | null;
        const ids = taken?.[0]?.[1].map(([id]) => id) ?? [];
        if (ids.length > 0) await redis.xack(keys.stream, 'shipping', ...ids);
      }
    }
    await waitForPoints(page, orders, 'billing', HISTORY_POLLS + 1);
    await page.waitForSelector(`article[data-group="billing"] tbody tr.letter >> nth=2`);
    await page.waitForSelector(`article[data-group="shipping"] tbody tr`);

    const billing = `article[data-topic="${orders}"][data-group="billing"]`;
    expect(await page.textContent(metricValue(orders, 'billing', 'pending'))).not.toBe('0');
    expect(await page.textContent(metricValue(orders, 'billing', 'oldestPendingAge'))).toMatch(/\d+ (ms|s)/);
    expect(await page.textContent(metricValue(orders, 'billing', 'consumers'))).toMatch(/^[1-9]/);
    expect(await page.textContent(`${billing} tbody`)).toContain(
      'PermanentError: card declined for order 1003 (insufficient funds)',
    );
    expect(await page.textContent(`article[data-group="shipping"] tbody`)).toContain('max-deliveries');
    expect(await page.getAttribute(`${billing} path.line.lag`, 'd')).toMatch(
      /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){5,}/,
    );
    expect(await page.textContent('[data-summary="Dead letters"] .value')).toBe('4');

    // One number for lag: the group's badge says where it stands in words, the Lag metric says how far.
    expect(await page.textContent(`${billing} [data-role="standing"]`)).toMatch(
      /^(behind|in progress|caught up)$/,
    );
    expect(await page.textContent(`${billing} .group-head`)).not.toMatch(/behind by/);
    expect(
      await page.textContent(`article[data-topic="${refunds}"][data-group="ledger"] [data-role="standing"]`),
    ).toBe('caught up');
  }, 90_000);

  it("Redrive puts that group's dead letters back in its pending list only; the page shows the drop", async () => {
    const billingDead = (await redis.xrange(keys.deadLetters('billing'), '-', '+')) as [string, string[]][];
    const sources = billingDead.map(([, fields]) => fields[fields.indexOf('dlq.source-id') + 1]);
    expect(sources).toHaveLength(3);
    const shippingBefore = await groupInfo(redis, keys.stream, 'shipping');
    const lengthBefore = await redis.xlen(keys.stream);

    await page.click(
      `article[data-topic="${orders}"][data-group="billing"] button[data-action="redrive-group"]`,
    );
    await waitForText(page, metricValue(orders, 'billing', 'deadLetters'), '0');
    await page.waitForSelector('#notice:not([hidden])');
    expect(await page.textContent('#notice-text')).toBe(
      `billing on ${orders}: 3 dead letters redriven (3 back to pending); 0 left.`,
    );
    await page.waitForSelector(`article[data-group="billing"] .dlq-body >> text=No dead letters.`);
    expect(await page.textContent(metricValue(orders, 'shipping', 'deadLetters'))).toBe('1');
    expect(await page.textContent('[data-summary="Dead letters"] .value')).toBe('1');

    // Redis: billing's dead letters are pending for billing again; nothing appended; shipping untouched.
    expect(await redis.xlen(keys.deadLetters('billing'))).toBe(0);
    const pending = (await redis.xpending(keys.stream, 'billing', '-', '+', 1000)) as [string][];
    expect(pending.map((p) => p[0])).toEqual(expect.arrayContaining(sources));
    expect(await redis.xlen(keys.stream)).toBe(lengthBefore);
    expect(await redis.xlen(keys.deadLetters('shipping'))).toBe(1);
    expect(await groupInfo(redis, keys.stream, 'shipping')).toEqual(shippingBefore);

    expect(problems).toEqual([]);
  }, 60_000);
});
