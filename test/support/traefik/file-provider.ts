import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BuildResult, ProviderLog } from './docker-config';
import type { ProviderEvents, RunningProvider } from './docker-provider';
import { emptyConfig, type DynamicConfig } from './dynamic';
import { decodeFileConfig, isFileSupported } from './file-config';

/**
 * Traefik's file provider (pkg/provider/file/file.go), live:
 * - `directory`: every `.yml`/`.yaml`/`.toml` file in it and its subdirectories, in name order
 *   (collectFileConfigs), merged so that the first definition of a name wins and later ones are
 *   skipped with a warning (provider.Merge with ResourceStrategySkipDuplicates);
 * - `filename`: that one file.
 * With `watch` (the default), fsnotify watches the directory and the files in it at start, not
 * subdirectories (addWatcher); every event rebuilds the whole configuration (in filename mode
 * only events on that file's name) and sends it to the provider throttle. A rename of a temporary
 * file over the target is an event on the directory, so it is seen.
 * A file that fails to read or decode fails the whole build: the error is logged and nothing is
 * sent, so Traefik keeps the configuration it had (applyConfiguration returns the error before
 * sendConfigToChannel). A removed file simply is not read at the next build: its routers and
 * services go. At start, with watch, a failed build is logged and the provider keeps watching;
 * without watch it is an error; a missing directory stops the provider (it is logged, and Traefik
 * runs on without it).
 */
export interface FileProviderOptions {
  directory?: string;
  filename?: string;
  watch: boolean;
}

async function collect(directory: string, prefix: string): Promise<{ name: string; path: string }[]> {
  const entries = (await readdir(directory, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: { name: string; path: string }[] = [];
  for (const entry of entries) {
    const name = prefix ? join(prefix, entry.name) : entry.name;
    if (entry.isDirectory()) found.push(...(await collect(join(directory, entry.name), name)));
    else if (isFileSupported(entry.name)) found.push({ name, path: join(directory, entry.name) });
  }
  return found;
}

async function load(path: string): Promise<DynamicConfig> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`error reading configuration file: ${path} - ${(error as Error).message}`);
  }
  return decodeFileConfig(path, content);
}

/** provider.Merge with ResourceStrategySkipDuplicates: the first file to define a name keeps it. */
export function mergeSkippingDuplicates(parts: { name: string; config: DynamicConfig }[], logs: ProviderLog[]): DynamicConfig {
  const merged = emptyConfig();
  const kinds = [
    ['routers', 'HTTP router'],
    ['services', 'HTTP service'],
    ['middlewares', 'HTTP middleware'],
  ] as const;
  for (const part of parts) {
    for (const [kind, words] of kinds) {
      const target = merged[kind] as Record<string, unknown>;
      for (const [name, value] of Object.entries(part.config[kind])) {
        if (name in target) logs.push({ level: 'warn', msg: `${words} already configured, skipping: ${name} (origin ${part.name})` });
        else target[name] = value;
      }
    }
  }
  return merged;
}

export async function buildFileConfiguration(options: FileProviderOptions): Promise<BuildResult> {
  const logs: ProviderLog[] = [];
  let config: DynamicConfig;
  if (options.directory) {
    let files: { name: string; path: string }[];
    try {
      files = await collect(options.directory, '');
    } catch (error) {
      throw new Error(`collecting file configs: reading directory ${options.directory}: ${(error as Error).message}`);
    }
    const parts: { name: string; config: DynamicConfig }[] = [];
    for (const file of files) {
      try {
        parts.push({ name: file.name, config: await load(file.path) });
      } catch (error) {
        throw new Error(`collecting file configs: ${file.path}: ${(error as Error).message}`);
      }
    }
    config = mergeSkippingDuplicates(parts, logs);
  } else if (options.filename) {
    config = await load(options.filename);
  } else {
    throw new Error('error using file configuration provider, neither filename nor directory is defined');
  }
  return { config, conflicts: { routers: [], services: [], middlewares: [] }, logs };
}

export async function startFileProvider(options: FileProviderOptions, events: ProviderEvents): Promise<RunningProvider> {
  const watchers: FSWatcher[] = [];
  let stopped = false;
  let building = false;
  let again: string | undefined;

  const rebuild = async (trigger: string, first = false): Promise<void> => {
    if (building) {
      again = trigger;
      return;
    }
    building = true;
    try {
      const result = await buildFileConfiguration(options);
      if (!stopped) events.configuration(result, trigger);
    } catch (error) {
      if (first && !options.watch) throw error;
      events.log('error', first ? 'Error while building configuration (for the first time)' : 'Error occurred during watcher callback', { providerName: 'file', error: (error as Error).message });
    } finally {
      building = false;
      if (again !== undefined && !stopped) {
        const next = again;
        again = undefined;
        void rebuild(next);
      }
    }
  };

  if (options.watch) {
    let items: string[];
    let only: string | undefined;
    if (options.directory) {
      const files = await readdir(options.directory, { withFileTypes: true }).catch((error: Error) => {
        throw new Error(`unable to read directory ${options.directory}: ${error.message}`);
      });
      items = [options.directory, ...files.filter((entry) => !entry.isDirectory() && isFileSupported(entry.name)).map((entry) => join(options.directory!, entry.name))];
    } else if (options.filename) {
      if (!isFileSupported(options.filename)) throw new Error(`unsupported file extension for file ${options.filename}`);
      items = [dirname(options.filename), options.filename];
      only = basename(options.filename);
    } else {
      throw new Error('error using file configuration provider, neither filename nor directory is defined');
    }
    for (const item of items) {
      try {
        const watcher = watch(item, (event, name) => {
          if (stopped) return;
          // An event on the watched file itself names the file; one on the directory names the entry.
          const entry = name ? basename(name.toString()) : basename(item);
          if (only !== undefined && entry !== only) return;
          void rebuild(`${event} ${entry}`);
        });
        watcher.on('error', (error) => events.log('error', 'Watcher event error', { providerName: 'file', error: error.message }));
        watchers.push(watcher);
      } catch (error) {
        for (const watcher of watchers) watcher.close();
        throw new Error(`error adding file watcher for ${item}: ${(error as Error).message}`);
      }
    }
  }
  await rebuild('start', true);

  return {
    stop() {
      stopped = true;
      for (const watcher of watchers) watcher.close();
    },
  };
}
