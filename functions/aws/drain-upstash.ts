/** Scheduled drain (EventBridge) over Upstash REST: deployed instead of drain.ts when SLUICE_DRIVER=upstash. */

import { loadConfig } from '../../src/http/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { coldStart, drainFunction } from './wiring.js';

export const handler = coldStart(loadConfig, (config) => drainFunction(upstashFromConfig(config), config));
