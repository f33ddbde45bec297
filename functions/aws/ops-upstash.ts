/** Ops endpoints and dashboard (API Gateway HTTP API) over Upstash REST: deployed instead of ops.ts when SLUICE_DRIVER=upstash. */
import { loadConfig } from '../../src/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { opsFunction } from './wiring.js';

const config = loadConfig(process.env);

export const handler = opsFunction(upstashFromConfig(config), config);
