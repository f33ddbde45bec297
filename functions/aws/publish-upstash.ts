/** HTTP publish (API Gateway HTTP API) over Upstash REST: deployed instead of publish.ts when SLUICE_DRIVER=upstash. */
import { loadConfig } from '../../src/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { publishFunction } from './wiring.js';

const config = loadConfig(process.env);

export const handler = publishFunction(upstashFromConfig(config), config);
