/** What every step of `npm start` shares: where its files are, how it fails, how it prints a URL. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** `.sluice/` (git-ignored): the private Redis's data and the files left for the commands run next to it. */
export const stateDir = join(root, '.sluice');
/** The serverless stage the stack runs as. */
export const STAGE = 'dev';

/** Ends `npm start` with `message` on stderr and exit code 1. */
export function fail(message: string): never {
  console.error(`\nsluice: ${message}\n`);
  process.exit(1);
}

/** A URL without its password, for printing. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//***@');
}
