/**
 * The dashboard's drains in headless Chromium against the real ops endpoint and redis-server: after
 * two drains, a group's card shows processed/s, failures/s, the last drains with why each stopped and
 * the 24-hour chart; a reload shows them at once (they come from Redis, not from the tab). Replay
 * from a time: a dry-run count in the confirmation, Cancel moves nothing, Replay moves the group
 * (checked in Redis). The look: dashboard-screenshots.test.ts.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { drain } from '../../src/consume/drain.js';
import { declareTopic } from '../../src/core/declare.js';
import { PermanentError } from '../../src/core/errors.js';
import { streamKeys } from '../../src/core/keys.js';
import { silentLogger } from '../../src/core/logger.js';
import { createOpsEndpoint } from '../../src/http/ops-endpoint.js';
import { publishBatch } from '../../src/publish/batch.js';
import { browserSuite } from '../support/chromium.js';
import { type Browser, card, launch, serve, signIn } from '../support/dashboard-browser.js';
import { groupInfo, newDriver, randomTopic, rawClient, testDrainOptions } from '../support/fixtures.js';
import { notNearMinuteEnd } from '../support/history-kit.js';

declare const document: {
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
};

const redis = rawClient();
const driver = newDriver();

browserSuite('dashboard drains and replay in headless Chromium', (chromiumPath) => {
  const topic = randomTopic('orders');
  const keys = streamKeys({ topic });
  const billing = card(topic, 'billing');
  let server: { url: string; close: () => Promise<void> } | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let firstIds: string[] = [];

  beforeAll(async () => {
    await notNearMinuteEnd();
    await declareTopic(driver, topic, { groups: ['billing'] });
    firstIds = (await publishBatch(driver, topic, [{ data: 1 }, { data: 2 }, { data: 'poison' }])).map(
      (r) => r.id,
    );
    await drain(
      driver,
      testDrainOptions(topic, 'billing', async (m) => {
        if (m.data === 'poison') throw new PermanentError('cannot parse');
      }),
    );
    await publishBatch(driver, topic, [{ data: 3 }]);
    await drain(
      driver,
      testDrainOptions(topic, 'billing', async () => {}),
    );
    server = await serve(
      createOpsEndpoint({ driver, topics: [topic], token: 'e2e-admin-token-7f3a9c', logger: silentLogger }),
    );
    browser = await launch(chromiumPath);
    page = await browser.newPage({ width: 1280, height: 900 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** What the card's drains show once the history has arrived. */
  async function shown() {
    await page.waitForSelector(`${billing} ol.drains li >> nth=1`);
    return {
      processed: await page.textContent(`${billing} [data-rate="processed"] .rate-value`),
      failures: await page.textContent(`${billing} [data-rate="failures"] .rate-value`),
      last: await page.textContent(`${billing} [data-rate="last"] .rate-note`),
      stops: await page.$$eval(`${billing} ol.drains [data-stopped-by]`, (nodes) =>
        nodes.map((n) => n.getAttribute('data-stopped-by')),
      ),
      did: await page.$$eval(`${billing} ol.drains .did`, (nodes) => nodes.map((n) => n.textContent)),
      running: await page.textContent(`${billing} [data-role="running"]`),
      minutes: Number(await page.getAttribute(`${billing} .history-chart svg`, 'data-minutes')),
      bars: await page.$$eval(`${billing} .history-chart rect.bar.processed`, (nodes) => nodes.length),
    };
  }

  it('shows processed/s, failures/s, the last drains and the day chart; a reload shows them at once', async () => {
    await signIn(page, `${server?.url}/ops`);
    const first = await shown();
    // 3 acknowledged and 1 dead-lettered within the current minute: per second over the last minute.
    expect(first).toMatchObject({
      processed: '0.05',
      failures: '0.02',
      stops: ['idle', 'idle'],
      did: ['1 processed', '2 processed · 1 dead'],
      running: 'none running',
      minutes: 1,
      bars: 1,
    });
    expect(first.last).toMatch(/^took \d+ ms · idle$/);
    await page.reload();
    expect(await shown()).toEqual(first);
    expect(browser?.problems).toEqual([]);
  });

  it('Replay from a time: counts first, Cancel moves nothing, Replay moves the group', async () => {
    const before = await groupInfo(redis, keys.stream, 'billing');
    await page.click(`${billing} [data-action="replay"]`);
    const from = new Date(Number(firstIds[0]?.split('-')[0])).toISOString().slice(0, 16);
    await page.fill(`${billing} form.replay input`, from);
    await page.click(`${billing} [data-action="replay-count"]`);
    await page.waitForSelector('#confirm[open]');
    // Every entry published from that minute on: the 4 of this test.
    expect(await page.textContent('#confirm-text')).toMatch(/4 of 4 messages will be delivered to it again/);
    expect(await page.textContent('#confirm-ok')).toBe('Replay 4');
    await page.click('#confirm-cancel');
    expect(await groupInfo(redis, keys.stream, 'billing')).toEqual(before);

    await page.click(`${billing} [data-action="replay-count"]`);
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-ok');
    await page.waitForFunction(() =>
      /4 messages will be delivered again/.test(document.querySelector('#notice-text')?.textContent ?? ''),
    );
    const after = await groupInfo(redis, keys.stream, 'billing');
    expect(after['last-delivered-id']).not.toBe(before['last-delivered-id']);
    expect(after.lag).toBe(4);
    expect(await page.isHidden(`${billing} form.replay`)).toBe(true);
    expect(browser?.problems).toEqual([]);
  });
});
