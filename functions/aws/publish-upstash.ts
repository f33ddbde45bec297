/** HTTP publish (API Gateway HTTP API) over Upstash REST: deployed instead of publish.ts when SLUICE_DRIVER=upstash. */

import { loadEndpointConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { coldStart, publishFunction } from './wiring.js';

export const handler = coldStart(loadEndpointConfig, (config) =>
  publishFunction(upstashFromConfig(config), config),
);
