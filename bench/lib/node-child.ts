/** Runs a script in a fresh node process with only the environment given (and PATH). */
import { spawn } from 'node:child_process';

export interface NodeChildResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawning to the process's exit, as the parent saw it. */
  readonly wallMs: number;
}

export function runNodeScript(code: string, env: Record<string, string>): Promise<NodeChildResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (exitCode) =>
      resolve({ exitCode, stdout, stderr, wallMs: performance.now() - started }),
    );
  });
}
