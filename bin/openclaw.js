#!/usr/bin/env node
// Node >= 22.18 runs the TypeScript sources directly (type stripping): no build step. Started by an
// older Node (many machines still ship 20), the CLI hands itself to the Node the set-up installed
// in the project (.node/, scripts/ensure-node.sh), or says in one line what to run. This file
// must therefore parse and run on old Node versions: plain JavaScript, nothing recent.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// What `openclaw gateway` runs with unless the operator gave a value of their own; measured in
// bench/RESULTS.md ("issue 16: memory").
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=100'];
// glibc's malloc raises its mmap threshold to the size of the largest mapped block freed so far
// (up to 32 MB): once start-up has freed a few large buffers, blocks up to that size come from
// arenas that keep them resident after they are freed. A fixed threshold turns that off: ≈ 10 MB
// less RSS at ready (bench/RESULTS.md). 4 MiB rather than glibc's initial 128 KiB, which saved as
// much but measured slower in the first seconds under load (every block of 128 KiB or more mapped
// and unmapped on its own). Ignored by other C libraries.
const GATEWAY_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=4194304';
const [major, minor] = process.versions.node.split('.').map(Number);
const runsSources = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);

if (runsSources) {
  if (process.env.OPENCLAW_HANDED_OVER === '1' && process.channel) watchLauncher();
  else restartWithGatewayFlags();
  // Start-up is mostly module loading; Node's on-disk compile cache (in the OS temp dir, or
  // NODE_COMPILE_CACHE) roughly halves it from the second start on.
  module.enableCompileCache?.();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv);
} else {
  handOver();
}

/** Runs this CLI again on the project's Node, passing signals on and ending as it ends. */
function handOver() {
  const projectNode = fileURLToPath(new URL('../.node/node24/bin/node', import.meta.url));
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  if (!existsSync(projectNode)) {
    process.stderr.write(
      `openclaw: Node ${process.versions.node} is too old (22.18 or later needed); run "bash ${root}/scripts/ensure-node.sh" to install Node 24 into ${root}/.node (openclaw then uses it), or put Node 22.18+ first on PATH.\n`,
    );
    process.exit(1);
  }
  // Its own session: a Ctrl-C reaches this launcher alone, which passes it on once (a child in the
  // terminal's process group would get it twice and take the second as "stop now"). The IPC channel
  // tells the child when the launcher is gone, however it went.
  // The project's Node first on PATH, so what the CLI starts with `node` (the demo's MCP server, say)
  // runs on it too rather than on the old one.
  const child = spawn(projectNode, [...gatewayNodeFlags(), ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: { ...gatewayEnv(), PATH: `${dirname(projectNode)}${delimiter}${process.env.PATH ?? ''}`, OPENCLAW_HANDED_OVER: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    process.stderr.write(`openclaw: cannot run ${projectNode}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

/**
 * `openclaw gateway` runs with a smaller young generation (2 × 16 MB instead of up to 2 × 64 MB,
 * the largest single item of its peak memory) and an old generation that grows by at most 2× its
 * live size before a major GC (so request garbage promoted under load, and the Buffers it holds,
 * are collected at about twice the live heap rather than four times). A process cannot set these
 * for itself once started, so the gateway command replaces itself (execve: same pid, nothing left
 * behind) with the flags added, before loading anything. A flag the operator set (on the command
 * line or in NODE_OPTIONS) is left as they set it; a process with an IPC channel is not replaced
 * (execve would close the channel: a cluster worker inherits its supervisor's flags anyway).
 */
function restartWithGatewayFlags() {
  const flags = gatewayNodeFlags();
  const env = gatewayEnv();
  if ((flags.length === 0 && env === process.env) || typeof process.execve !== 'function' || process.channel) return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], env);
}

/**
 * The environment `openclaw gateway` runs in: GLIBC_TUNABLES as above unless the operator set it
 * (to anything, empty included: `GLIBC_TUNABLES=` keeps glibc's defaults). glibc reads it when a
 * process starts, hence the replacement; the workers of `--workers` inherit it.
 */
function gatewayEnv() {
  if (process.argv[2] !== 'gateway' || process.platform !== 'linux' || process.env.GLIBC_TUNABLES !== undefined) return process.env;
  return { ...process.env, GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLES };
}

/**
 * The node flags `openclaw gateway` adds for itself: none for other commands, none the operator set.
 * OPENCLAW_GATEWAY_NODE_FLAGS replaces the defaults (empty: add nothing, Node's own defaults).
 */
function gatewayNodeFlags() {
  if (process.argv[2] !== 'gateway') return [];
  const wanted = process.env.OPENCLAW_GATEWAY_NODE_FLAGS === undefined ? GATEWAY_NODE_FLAGS : process.env.OPENCLAW_GATEWAY_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const given = process.execArgv.concat((process.env.NODE_OPTIONS || '').split(/\s+/)).map(flagName);
  return wanted.filter((flag) => given.indexOf(flagName(flag)) === -1);
}

/** `--max_semi-space-size=8` → `max-semi-space-size` (V8 takes either separator). */
function flagName(arg) {
  return arg.split('=')[0].replace(/^--/, '').replace(/_/g, '-');
}

/** In a handed-over CLI: when the launcher goes away (even killed outright), stop as on SIGTERM. */
function watchLauncher() {
  delete process.env.OPENCLAW_HANDED_OVER;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
