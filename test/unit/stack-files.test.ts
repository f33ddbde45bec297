/**
 * The files `npm start` leaves for the commands run next to it (scripts/stack-files.ts): the shell
 * file the README's quick start sources, and the stack file the CLI finds the stack by.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPORTED, removeStackFile, writeShellEnv, writeStackFile } from '../../scripts/stack-files.js';
import { discoverLocalStack } from '../../src/cli/local-stack.js';
import { root } from '../support/cli-run.js';

const scratch = mkdtempSync(join(tmpdir(), 'sluice-stack-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function project(): string {
  const dir = mkdtempSync(join(scratch, 'project-'));
  mkdirSync(join(dir, '.sluice'));
  return dir;
}

/** The README's "Quick start" section. */
function quickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Quick start');
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

describe('.sluice/env', () => {
  it('exports the tokens to a shell that sources it, whatever they hold', () => {
    const dir = project();
    const tokens = { SLUICE_PUBLISH_TOKEN: `it's "$HOME" \`x\``, SLUICE_ADMIN_TOKEN: 'admin-token' };
    writeShellEnv(dir, tokens);
    const printed = execFileSync(
      'sh',
      ['-c', '. .sluice/env && sh -c \'printf "%s\\n%s" "$SLUICE_PUBLISH_TOKEN" "$SLUICE_ADMIN_TOKEN"\''],
      { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8' },
    );
    expect(printed).toBe(`${tokens.SLUICE_PUBLISH_TOKEN}\n${tokens.SLUICE_ADMIN_TOKEN}`);
    expect(statSync(join(dir, '.sluice', 'env')).mode & 0o077).toBe(0);
  });

  it("is what the README's quick start sources, and sets every variable its commands use", () => {
    const section = quickStart();
    const sourced = section.indexOf('source .sluice/env');
    expect(sourced).toBeGreaterThan(-1);
    const curl = section.indexOf('curl ');
    expect(curl).toBeGreaterThan(sourced);
    const used = new Set([...section.matchAll(/\$\{?(SLUICE_[A-Z_]+)/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) expect(EXPORTED).toContain(name);
  });
});

describe('.sluice/stack.json', () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it('leads the CLI to a running stack, and is removed only by the stack that wrote it', async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const dir = project();
    const stack = {
      pid: process.pid,
      redisUrl: `redis://127.0.0.1:${port}`,
      publishUrl: 'http://localhost:3000/topics/orders/messages',
      topics: ['orders'],
      topic: 'orders',
      group: 'payment-processors',
    };
    const file = writeStackFile(dir, stack);
    expect(await discoverLocalStack(join(dir, '.sluice'))).toEqual({ found: 'alive', file, stack });

    removeStackFile(dir, process.pid + 1);
    expect(existsSync(file)).toBe(true);
    removeStackFile(dir, process.pid);
    expect(existsSync(file)).toBe(false);
    expect(await discoverLocalStack(dir)).toMatchObject({ found: 'none' });
  });
});
