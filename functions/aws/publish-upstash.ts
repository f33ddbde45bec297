/** HTTP publish (API Gateway HTTP API) over Upstash REST: deployed instead of publish.ts when SLUICE_DRIVER=upstash. */
import { upstashFromConfig } from '../drivers/upstash.js';
import { coldStart, publishFunction } from './wiring.js';

export const handler = coldStart((config) => publishFunction(upstashFromConfig(config), config));
