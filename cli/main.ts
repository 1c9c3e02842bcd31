#!/usr/bin/env node
import { processIo } from './io.ts';
import { runCli } from './program.ts';

// `associator events | head` closes stdout early; that ends the command, it is not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
