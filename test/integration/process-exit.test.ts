import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { randomTopic, redisUrl } from '../support/fixtures.js';

it('a local script that publishes and drains exits by itself: the idle connection does not hold it open', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/publish-and-exit.ts', redisUrl(), randomTopic()],
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
  expect(signal).toBeNull(); // not killed by the timer: it exited on its own
  expect(code).toBe(0);
  expect(JSON.parse(output)).toMatchObject({ acked: 1 });
});
