#!/usr/bin/env node
// `associator`. Installed from the package it runs the compiled CLI in dist/; in a checkout of the repository,
// where the TypeScript sources sit beside it, it runs them (on the Node 24 the project installs), so
// `npx associator` there needs no build and never runs a stale one.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : '../dist/cli/main.js');
