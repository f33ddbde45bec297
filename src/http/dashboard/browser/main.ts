/**
 * The dashboard's script (bundled into the page by scripts/build-dashboard.ts): asks for the admin
 * token, polls the statistics and draws them; see src/http/dashboard.ts for what the page does.
 */
import { render } from './render.js';
import { listen, onStats, showSignin, start } from './session.js';
import { TOKEN_KEY } from './settings.js';

onStats(render);
listen();
if (sessionStorage.getItem(TOKEN_KEY)) start();
else showSignin('');
