#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so a fresh clone needs no build step before `npx reelflow`.
require('tsx/cjs');
require('../cli/reelflow.ts').main();
