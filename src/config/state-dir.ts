import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

/**
 * Makes sure the state dir (session store, generated token) is a folder this process can write,
 * creating it (0700) when absent, or throws a ConfigError naming OPENCLAW_STATE_DIR and the fix.
 * Checked by writing, not by permission bits: root on a read-only file system, ACLs and the like
 * only show when a write is tried.
 */
export function prepareStateDir(dir: string): void {
  const setting = `the state dir ${dir} (OPENCLAW_STATE_DIR, default ~/.openclaw)`;
  const notAFolder = () =>
    new ConfigError(`Cannot use ${setting}: it is a file, not a folder. Point OPENCLAW_STATE_DIR at a folder, or move the file away.`);
  const notWritable = (code: string) =>
    new ConfigError(
      `Cannot use ${setting}: this user (uid ${process.getuid?.() ?? '?'}) cannot write it (${code}). Give the folder to the user the gateway runs as (chown), or point OPENCLAW_STATE_DIR at a folder it can write.`,
    );
  try {
    if (!statSync(dir).isDirectory()) throw notAFolder();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    if (code === 'ENOTDIR') throw new ConfigError(`Cannot use ${setting}: part of its path is a file, not a folder. Point OPENCLAW_STATE_DIR at a folder.`);
    if (code !== 'ENOENT') throw notWritable(code);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (mkdirError) {
      const mkdirCode = (mkdirError as NodeJS.ErrnoException).code ?? 'unknown error';
      if (mkdirCode === 'ENOTDIR' || mkdirCode === 'EEXIST') throw new ConfigError(`Cannot create ${setting}: part of its path is a file, not a folder. Point OPENCLAW_STATE_DIR at a folder.`);
      throw new ConfigError(
        `Cannot create ${setting} (${mkdirCode}). Create it for the user the gateway runs as (mkdir -p, chown), or point OPENCLAW_STATE_DIR at a folder that user can write.`,
      );
    }
  }
  const probe = join(dir, `.write-check-${process.pid}`);
  try {
    writeFileSync(probe, '', { mode: 0o600 });
  } catch (error) {
    throw notWritable((error as NodeJS.ErrnoException).code ?? 'unknown error');
  } finally {
    rmSync(probe, { force: true });
  }
}
