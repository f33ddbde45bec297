/** Workloads `--profile` can run (see profile-target.ts). */
export const WORKLOADS = [
  'drain-sluice',
  'drain-baseline',
  'rest-sluice',
  'rest-fetch',
  'rest-sdk',
  'publish-sluice',
  'publish-http',
  'publish-raw',
] as const;

export type Workload = (typeof WORKLOADS)[number];
