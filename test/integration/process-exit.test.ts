import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { clusterNodes, randomTopic, redisUrl } from '../support/fixtures.js';

/** Runs test/support/publish-and-exit.ts against `target`; resolves with its exit and its output. */
async function publishAndExit(target: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/publish-and-exit.ts', target, randomTopic()],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  return { code, signal, output };
}

it('a local script that publishes and drains exits by itself: the idle connection does not hold it open', async () => {
  const { code, signal, output } = await publishAndExit(redisUrl());
  expect(signal).toBeNull(); // not killed by the timer: it exited on its own
  expect(code).toBe(0);
  expect(JSON.parse(output)).toMatchObject({ acked: 1 });
});

it('the same over the cluster driver: no node connection holds it open', async () => {
  const { code, signal, output } = await publishAndExit(clusterNodes().join(','));
  expect(signal).toBeNull();
  expect(code).toBe(0);
  expect(JSON.parse(output)).toMatchObject({ acked: 1 });
});
