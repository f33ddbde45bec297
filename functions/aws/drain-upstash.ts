/** Scheduled drain (EventBridge) over Upstash REST: deployed instead of drain.ts when SLUICE_DRIVER=upstash. */
import { loadConfig } from '../../src/index.js';
import { upstashFromConfig } from '../drivers/upstash.js';
import { drainFunction } from './wiring.js';

const config = loadConfig(process.env);

export const handler = drainFunction(upstashFromConfig(config), config);
