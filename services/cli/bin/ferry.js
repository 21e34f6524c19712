#!/usr/bin/env node
// The CLI is compiled with the rest of Ferry into dist/ (npm run build).
import('../../../dist/services/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('ferry: the CLI is not built yet; run `npm run build` in the Ferry repository\n');
    process.exit(2);
  }
  throw err;
});
