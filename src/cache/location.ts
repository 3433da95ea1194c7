/** Where the cache lives, and whether it is used at all. */
import os from 'node:os';
import path from 'node:path';

export interface CacheEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform?: NodeJS.Platform | undefined;
  readonly home?: string | undefined;
}

/**
 * `$JOCH_CACHE_DIR`, else the platform's cache folder + `/joch`: XDG_CACHE_HOME
 * or ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows.
 * Undefined when no home folder is known (nothing is cached then).
 */
export function cacheDirectory({ env, platform = process.platform, home = safeHome() }: CacheEnvironment): string | undefined {
  if (env.JOCH_CACHE_DIR) return path.resolve(env.JOCH_CACHE_DIR);
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA ?? (home ? path.join(home, 'AppData', 'Local') : undefined);
    return base ? path.join(base, 'joch', 'Cache') : undefined;
  }
  if (platform === 'darwin') return home ? path.join(home, 'Library', 'Caches', 'joch') : undefined;
  // XDG says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  const base = xdg ?? (home ? path.join(home, '.cache') : undefined);
  return base ? path.join(base, 'joch') : undefined;
}

/** JOCH_NO_CACHE=1 (or true/yes) turns the cache off, like `--no-cache`. */
export function cacheDisabledByEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.JOCH_NO_CACHE?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false' && v !== 'no';
}

function safeHome(): string | undefined {
  try {
    return os.homedir() || undefined;
  } catch {
    return undefined;
  }
}
