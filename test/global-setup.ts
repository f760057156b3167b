// One temporary folder per test run, removed when the run ends: every test's state dirs, config
// files and stores go under it (TMPDIR is pointed at it before the workers start, so `tmpdir()`
// names it in every test file and in the processes they spawn), and a test that fails before its
// own cleanup leaves nothing behind in the machine's temp folder.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): () => void {
  const machineTmp = tmpdir();
  const root = mkdtempSync(join(machineTmp, 'openclaw-test-'));
  // Traversable (not listable) by other users: tests run CLIs as an unprivileged user on folders inside it.
  chmodSync(root, 0o711);
  // Spawned gateways keep using the machine's compile cache rather than a cold one per run.
  process.env.NODE_COMPILE_CACHE ??= join(machineTmp, 'node-compile-cache');
  process.env.TMPDIR = root;
  project.provide('testRunDir', root);
  return () => rmSync(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    testRunDir: string;
  }
}
