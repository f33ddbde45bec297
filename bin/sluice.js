#!/usr/bin/env node
// The `sluice` command: the built CLI (dist/cli/main.js), or in a checkout that has not been built
// (`npm run build`), the TypeScript source through tsx (a dev dependency).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
