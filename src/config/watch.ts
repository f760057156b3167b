import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { ConfigFileEmptyError, ConfigFileMissingError, loadConfigFile } from './load.ts';
import type { GatewayConfig } from './types.ts';

export interface ConfigWatcher {
  close(): void;
}

/**
 * Watches the config file's folder (editors often replace the file by rename, which a watch on the
 * file itself would miss) and hands every edit that validates to `onChange`. An edit that does not
 * validate is logged with its reason and the running config stays. A file that disappears or is
 * emptied is no config to apply (read as an empty one it would take the API away): the running
 * config stays, with a warning, until the file is back.
 */
export function watchConfigFile(
  path: string,
  env: Record<string, string | undefined>,
  logger: Logger,
  onChange: (config: GatewayConfig) => void,
  debounceMs = 75,
): ConfigWatcher {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const reload = () => {
    timer = undefined;
    try {
      const next = loadConfigFile(path, env, { mustExist: true });
      onChange(next);
      logger.info({ event: 'config.reloaded', path }, 'config reloaded');
    } catch (error) {
      if (error instanceof ConfigFileMissingError) {
        logger.warn({ event: 'config.file_missing', path }, 'the config file is gone; keeping the running config until it is back');
        return;
      }
      if (error instanceof ConfigFileEmptyError) {
        logger.warn({ event: 'config.file_empty', path }, 'the config file is empty; keeping the running config until it has content');
        return;
      }
      logger.error({ event: 'config.reload_refused', path, reason: (error as Error).message }, 'config edit refused; keeping the running config');
    }
  };
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename && filename.toString() !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(reload, debounceMs);
    });
    watcher.on('error', (error) => logger.warn({ event: 'config.watch_error', path, reason: error.message }, 'config watch failed'));
  } catch (error) {
    logger.warn({ event: 'config.watch_unavailable', path, reason: (error as Error).message }, 'config changes need a restart');
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
