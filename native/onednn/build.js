'use strict';
// `npm install` runs this: node-gyp rebuild against the headers of the Node that runs it, with no
// download (machines without internet access cannot fetch headers from nodejs.org). npm passes
// its bundled node-gyp in npm_config_node_gyp and a configured nodedir in npm_config_nodedir.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  // An installed Node keeps its headers in <prefix>/include/node (Debian's nodejs: /usr).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

if (!existsSync('/usr/include/oneapi/dnnl/dnnl.hpp') && !existsSync('/usr/local/include/oneapi/dnnl/dnnl.hpp') && !process.env.CPLUS_INCLUDE_PATH) {
  console.error('prunebench-onednn: oneDNN headers not found (apt-get install libdnnl-dev); the onednn backend will be unavailable, wasm still works');
  process.exit(1);
}
const gyp = nodeGyp();
if (!gyp) {
  console.error('prunebench-onednn: node-gyp not found; the onednn backend will be unavailable');
  process.exit(1);
}
const dir = nodeDir();
const args = [gyp, 'rebuild', ...(dir ? [`--nodedir=${dir}`] : [])];
const r = spawnSync(process.execPath, args, { cwd: __dirname, stdio: 'inherit' });
process.exit(r.status ?? 1);
