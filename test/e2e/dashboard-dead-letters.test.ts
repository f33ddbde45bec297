/**
 * The dashboard's dead letters in headless Chromium, over a real redis-server: newest first, paged
 * through all of them; a row opens to the whole message; Purge asks first, and deletes only what it
 * said (checked in Redis). Chromium: see test/support/chromium.ts (never a skip).
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
  card,
  launch,
  metricValue,
  serve,
  signIn,
  waitForText,
} from '../support/dashboard-browser.js';
import { newDriver, randomTopic, rawClient } from '../support/fixtures.js';

const redis = rawClient();
const driver = newDriver();
const LONG_NOTE = 'a note far longer than the table shows: '.repeat(8);

browserSuite('dashboard dead letters in headless Chromium', (chromiumPath) => {
  const topic = randomTopic('audit');
  const keys = streamKeys({ topic });
  const archiver = card(topic, 'archiver');
  let server: { url: string; close: () => Promise<void> } | undefined;
  let browser: Browser | undefined;
  let page: Page;

  /** archiver dead-letters all 45 messages (the newest has a long payload), keeper the first 2. */
  async function arrange() {
    for (const group of ['archiver', 'keeper'])
      await redis.xgroup('CREATE', keys.stream, group, '0', 'MKSTREAM');
    await publishBatch(
      driver,
      topic,
      Array.from({ length: 45 }, (_, n) => ({ data: n === 44 ? { n, note: LONG_NOTE } : { n } })),
    );
    const cycle = { topic, budgetMs: 5_000, blockMs: 20, idleExitMs: 50, trim: false, logger: silentLogger };
    await drain(driver, {
      ...cycle,
      group: 'archiver',
      handler: (m: Message<{ n: number }>) => {
        throw new PermanentError(`cannot archive ${m.data.n}`);
      },
    });
    await drain(driver, {
      ...cycle,
      group: 'keeper',
      handler: (m: Message<{ n: number }>) => {
        if (m.data.n < 2) throw new PermanentError(`cannot keep ${m.data.n}`);
      },
    });
  }

  /** Dead-letter ids of `group`, newest first, as Redis has them. */
  async function newestFirst(group: string): Promise<string[]> {
    return ((await redis.xrevrange(keys.deadLetters(group), '+', '-')) as [string, string[]][]).map(
      ([id]) => id,
    );
  }
  const shownIds = (selector: string) =>
    page.$$eval(`${selector} tbody tr.letter`, (rows) => rows.map((row) => row.getAttribute('data-id')));

  beforeAll(async () => {
    await arrange();
    server = await serve(
      createOpsEndpoint({ driver, topics: [topic], token: ADMIN_TOKEN, logger: silentLogger }),
    );
    browser = await launch(chromiumPath);
    page = await browser.newPage({ width: 1400, height: 900 });
    await signIn(page, `${server.url}/ops?refresh=2`);
    await waitForText(page, metricValue(topic, 'archiver', 'deadLetters'), '45');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the newest first, 20 a page, and pages through all of them', async () => {
    const all = await newestFirst('archiver');
    expect(all).toHaveLength(45);
    const position = `${archiver} .pager .position`;
    await waitForText(page, position, '1–20 of 45, newest first');
    expect(await shownIds(archiver)).toEqual(all.slice(0, 20));
    expect(await page.isDisabled(`${archiver} button[data-action="newer"]`)).toBe(true);

    await page.click(`${archiver} button[data-action="older"]`);
    await waitForText(page, position, '21–40 of 45, newest first');
    expect(await shownIds(archiver)).toEqual(all.slice(20, 40));
    await page.click(`${archiver} button[data-action="older"]`);
    await waitForText(page, position, '41–45 of 45, newest first');
    expect(await shownIds(archiver)).toEqual(all.slice(40));
    expect(await page.isDisabled(`${archiver} button[data-action="older"]`)).toBe(true);
    expect(await page.textContent(`${archiver} tbody tr.letter >> nth=4`)).toContain('cannot archive 0');

    await page.click(`${archiver} button[data-action="newer"]`);
    await waitForText(page, position, '21–40 of 45, newest first');
    await page.click(`${archiver} button[data-action="newer"]`);
    await waitForText(page, position, '1–20 of 45, newest first');
    expect(await shownIds(archiver)).toEqual(all.slice(0, 20));
  }, 60_000);

  it('opens a row to the whole message, and closes it again', async () => {
    const [newest] = await newestFirst('archiver');
    const row = `${archiver} tr.letter[data-id="${newest}"]`;
    const detail = `${archiver} tr.detail[data-detail="${newest}"]`;
    expect(await page.textContent(`${row} td.payload`)).toMatch(/…$/);
    expect(await page.isVisible(detail)).toBe(false);

    await page.click(`${row} td.err`);
    await page.waitForSelector(detail, { state: 'visible' });
    expect(await page.getAttribute(row, 'aria-expanded')).toBe('true');
    expect(JSON.parse((await page.textContent(`${detail} pre.payload-full`)) ?? '')).toEqual({
      n: 44,
      note: LONG_NOTE,
    });
    expect(await page.textContent(`${detail} dl`)).toContain('PermanentError: cannot archive 44');

    await page.click(`${row} td.when`);
    await page.waitForSelector(detail, { state: 'hidden' });
  });

  it("Purge asks first: Cancel keeps everything, confirming deletes that group's dead letters only", async () => {
    const purgeAll = `${archiver} button[data-action="purge-group"]`;
    await page.click(purgeAll);
    await page.waitForSelector('#confirm[open]');
    expect(await page.textContent('#confirm-text')).toBe(
      `Delete all 45 dead letters of archiver on ${topic} for good? They cannot be redriven afterwards.`,
    );
    await page.click('#confirm-cancel');
    await page.waitForSelector('#confirm', { state: 'hidden' });
    expect(await redis.xlen(keys.deadLetters('archiver'))).toBe(45);

    await page.click(purgeAll);
    await page.click('#confirm-ok');
    await waitForText(page, metricValue(topic, 'archiver', 'deadLetters'), '0');
    expect(await page.textContent('#notice-text')).toBe(
      `archiver on ${topic}: 45 dead letters purged; 0 left.`,
    );
    expect(await redis.xlen(keys.deadLetters('archiver'))).toBe(0);
    expect(await redis.xlen(keys.deadLetters('keeper'))).toBe(2);
  });

  it('Purge of one message, from its opened row, deletes that one', async () => {
    const keeper = card(topic, 'keeper');
    const [newest, oldest] = await newestFirst('keeper');
    await page.click(`${keeper} tr.letter[data-id="${newest}"]`);
    await page.click(`${keeper} tr.detail[data-detail="${newest}"] button[data-action="purge-one"]`);
    await page.waitForSelector('#confirm[open]');
    expect(await page.textContent('#confirm-text')).toBe(
      `Delete this dead letter of keeper on ${topic} for good? It cannot be redriven afterwards.`,
    );
    await page.click('#confirm-ok');
    await waitForText(page, metricValue(topic, 'keeper', 'deadLetters'), '1');
    expect(await newestFirst('keeper')).toEqual([oldest]);
    expect(browser?.problems).toEqual([]);
  });
});
