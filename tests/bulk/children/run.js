/* eslint-disable @typescript-eslint/no-require-imports */
// Runs a TypeScript module of tests/bulk/children in a child process, straight from the sources
// (no build): .ts files are compiled with SWC as they are required, as Jest does. The tests kill
// these children with SIGKILL (a crash: no cleanup, no shutdown hooks) and check what survives.
const fs = require('node:fs');
const swc = require('@swc/core');

const config = JSON.parse(fs.readFileSync(require.resolve('../../../.swcrc'), 'utf8'));
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    ...config,
    filename,
    sourceMaps: false,
    swcrc: false,
  });
  module._compile(code, filename);
};
require(require.resolve(`./${process.argv[2]}.ts`));
