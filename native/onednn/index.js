'use strict';
// The compiled addon (node-gyp builds it at install time; see README.md in this folder).
module.exports = require('./build/Release/prunebench_onednn.node');
