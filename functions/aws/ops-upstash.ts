/** Ops endpoints and dashboard (API Gateway HTTP API) over Upstash REST: deployed instead of ops.ts when SLUICE_DRIVER=upstash. */
import { upstashFromConfig } from '../drivers/upstash.js';
import { coldStart, opsFunction } from './wiring.js';

export const handler = coldStart((config) => opsFunction(upstashFromConfig(config), config));
