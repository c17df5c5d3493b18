#!/usr/bin/env node
// The `longshot` command: the daemon and the CLI are one program, bundled by `npm run build`.
require('../dist/longshot.cjs');
