#!/usr/bin/env node
// Node >= 22.18 runs the TypeScript sources directly (type stripping): no build step.
import module from 'node:module';

// Start-up is mostly module loading; Node's on-disk compile cache (in the OS temp dir, or
// NODE_COMPILE_CACHE) roughly halves it from the second start on.
module.enableCompileCache?.();
const { main } = await import('../src/cli/main.ts');

process.exitCode = await main(process.argv);
