/** Ops endpoints and dashboard (API Gateway HTTP API) over Upstash REST: deployed instead of ops.ts when SLUICE_DRIVER=upstash. */

import { loadEndpointConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { coldStart, opsFunction } from './wiring.js';

export const handler = coldStart(loadEndpointConfig, (config) =>
  opsFunction(upstashFromConfig(config), config),
);
