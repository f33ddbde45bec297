/**
 * `npm run bench -- --profile [workload…]`: runs workloads under `node --cpu-prof` against the
 * bench's own servers and prints where the client's CPU time goes (by owner, top frames, and the
 * inclusive time of sluice's phases). Profiles are kept in bench/.profiles/ for DevTools.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CpuProfile, type ProfileSummary, summarise } from './lib/cpu-profile.js';
import type { BenchServers } from './lib/servers.js';
import { WORKLOADS, type Workload } from './lib/workloads.js';

const TARGET = fileURLToPath(new URL('./profile-target.ts', import.meta.url));
const PROFILE_DIR = fileURLToPath(new URL('./.profiles/', import.meta.url));

/** Functions whose inclusive time is reported: sluice's phases and the work done per message. */
const PHASES = [
  'drain',
  'read',
  'reclaim',
  'processBatch',
  'handleOne',
  'handleInTurn',
  'renewHold',
  'settle',
  'tidy',
  'parseReadGroup',
  'parseEntries',
  'decodeMessage',
  'fieldsToRecord',
  'untilAborted',
  'call',
  'send',
  'publishBatch',
  'runBatch',
  'encodeMessage',
  'runScript',
  'handlePublish',
  'toMessages',
  'toMessage',
  'depthOf',
  'readBody',
  'tcpLoop',
  'fetchLoop',
  'sdkLoop',
  'request',
  'decode',
  'base64decode',
  'sendCommand',
  'exec',
  'fetch',
];

export async function profileWorkload(servers: BenchServers, workload: Workload): Promise<ProfileSummary> {
  const dir = `${PROFILE_DIR}${workload}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--cpu-prof',
        '--cpu-prof-dir',
        dir,
        '--cpu-prof-interval',
        '250',
        '--import',
        'tsx',
        TARGET,
        workload,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          BENCH_REDIS_URL: servers.redis.url,
          BENCH_REST_URL: servers.rest.url,
          BENCH_REST_TOKEN: servers.rest.token,
        },
      },
    );
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${workload} exited with ${code}`)),
    );
  });
  // One profile per thread (tsx runs a loader thread): the main thread's is the largest.
  const file = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(`${dir}/${b}`).size - statSync(`${dir}/${a}`).size)[0];
  if (!file) throw new Error(`no profile written for ${workload}`);
  const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as CpuProfile;
  return summarise(profile, PHASES);
}

export function printSummary(workload: string, summary: ProfileSummary): string {
  const lines = [`== ${workload}: ${summary.busyMs} ms busy, ${summary.idlePercent}% idle`];
  lines.push('  by owner (self time, % of busy):');
  for (const { owner, selfPercent } of summary.byOwner.slice(0, 10))
    lines.push(`    ${selfPercent.toFixed(1).padStart(5)}  ${owner}`);
  lines.push('  top frames (self %):');
  for (const { frame, selfPercent } of summary.topSelf)
    lines.push(`    ${selfPercent.toFixed(1).padStart(5)}  ${frame}`);
  lines.push('  phases (inclusive % / self %):');
  for (const { frame, inclusivePercent, selfPercent } of summary.inclusive.filter(
    (f) => f.inclusivePercent >= 0.5,
  ))
    lines.push(
      `    ${inclusivePercent.toFixed(1).padStart(5)} ${selfPercent.toFixed(1).padStart(5)}  ${frame}`,
    );
  return lines.join('\n');
}

export function parseWorkloads(names: readonly string[]): Workload[] {
  if (names.length === 0) return ['drain-sluice', 'drain-baseline'];
  for (const name of names)
    if (!(WORKLOADS as readonly string[]).includes(name))
      throw new Error(`unknown workload ${name}; one of ${WORKLOADS.join(', ')}`);
  return names as Workload[];
}
