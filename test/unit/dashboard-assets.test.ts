/**
 * The dashboard's generated assets (src/http/dashboard/assets.generated.ts) are what
 * scripts/build-dashboard.ts makes of page.html, style/*.css and browser/*.ts today, and the page
 * served carries them inline under a Content-Security-Policy whose hashes match them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, generateDashboardAssets } from '../../scripts/build-dashboard.js';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from '../../src/http/dashboard.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The text of the page's one `<tag>` element. */
function inline(tag: 'style' | 'script'): string {
  const parts = DASHBOARD_HTML.split(new RegExp(`<${tag}>|</${tag}>`));
  expect(parts, `one <${tag}> element`).toHaveLength(3);
  return parts[1] as string;
}

describe('dashboard assets', () => {
  it('the generated module is up to date with page.html, style/*.css and browser/*.ts (else run scripts/build-dashboard.ts)', async () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(await generateDashboardAssets());
  });

  it('the page holds its stylesheet and script inline, and the CSP allows exactly those by hash', () => {
    const style = inline('style');
    const script = inline('script');
    expect(style).toContain('.card');
    expect(script).toContain('sluice.adminToken');
    const csp = DASHBOARD_HEADERS['content-security-policy'] ?? '';
    expect(csp).toContain(`script-src ${sha256(script)};`);
    expect(csp).toContain(`style-src ${sha256(style)};`);
    expect(csp).toContain("default-src 'none'");
  });
});
