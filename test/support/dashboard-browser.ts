/**
 * What the dashboard's browser tests share: the ops endpoint over node:http, a headless Chromium
 * (found by ./chromium.ts) with a fresh profile, and waits on the page's DOM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { createOpsEndpoint } from '../../src/http/ops-endpoint.js';

// What the functions evaluated in the page use of the DOM (the project compiles without the DOM library).
declare const document: {
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
};

export const ADMIN_TOKEN = 'e2e-admin-token-7f3a9c';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--font-render-hinting=none',
];

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => done(Buffer.concat(chunks)));
    request.on('error', fail);
  });
}

/** The platform-neutral ops endpoint over node:http, on a free port of 127.0.0.1. */
export async function serve(
  endpoint: ReturnType<typeof createOpsEndpoint>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const body = await readBody(request);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const answer = await endpoint({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      headers,
      body: body.byteLength > 0 ? new Uint8Array(body) : undefined,
    });
    response.writeHead(answer.status, answer.headers).end(answer.body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

export interface Browser {
  readonly context: BrowserContext;
  /** Page errors and console errors seen so far, on every page of the context. */
  readonly problems: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile: light scheme, UTC, en-GB, device scale 1. */
export async function launch(chromiumPath: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
  };
  let first: Page | undefined = context.pages()[0];
  return {
    context,
    problems,
    async newPage(viewport) {
      const page = first ?? (await context.newPage());
      first = undefined;
      watch(page);
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on the dashboard at `url` with the admin token. */
export async function signIn(page: Page, url: string, token = ADMIN_TOKEN): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#token', { state: 'visible' });
  await page.fill('#token', token);
  await page.click('#signin-form button[type="submit"]');
}

export const card = (topic: string, group: string) => `article[data-topic="${topic}"][data-group="${group}"]`;

export const metricValue = (topic: string, group: string, metric: string) =>
  `${card(topic, group)} [data-metric="${metric}"] .metric-value`;

/** Waits until the element's text is `text`. */
export async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([s, t]) => document.querySelector(s as string)?.textContent === t,
    [selector, text] as const,
    { timeout: 20_000 },
  );
}

/** Waits until the group's chart holds at least `points` polls. */
export async function waitForPoints(page: Page, topic: string, group: string, points: number): Promise<void> {
  await page.waitForFunction(
    ([s, n]) => Number(document.querySelector(s as string)?.getAttribute('data-points')) >= (n as number),
    [`${card(topic, group)} svg[data-points]`, points] as const,
    { timeout: 30_000 },
  );
}
