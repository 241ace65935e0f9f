// Same declarations as @next/env 16.4 (`dist/index.d.ts`), so swapping the import
// type-checks unchanged; `explainEnv` is ours and opt-in.

export type Env = {
  [key: string]: string | undefined
}
export type LoadedEnvFiles = Array<{
  path: string
  contents: string
  env: Env
}>
type Log = {
  info: (...args: any[]) => void
  error: (...args: any[]) => void
}

/** The `process.env` snapshot taken at the first load; `undefined` before it. */
export declare let initialEnv: Env | undefined
/**
 * Registers values that must survive `forceReload`/`resetEnv`; `undefined` deletes a key. No-op before the first load.
 * After it, a `null`/`undefined` `newEnv` throws `ERR_INVALID_ARG_TYPE` (a TypeError, as @next/env's).
 */
export declare function updateInitialEnv(newEnv: Env): void
export declare function processEnv(
  loadedEnvFiles: LoadedEnvFiles,
  dir?: string,
  log?: Log,
  forceReload?: boolean,
  onReload?: (envFilePath: string) => void,
): Env[]
/** Restores `process.env` to the snapshot taken at the first load (keeps `__NEXT_PRIVATE*`). */
export declare function resetEnv(): void
/**
 * Loads `.env.$mode.local`, `.env.local` (not in test), `.env.$mode`, `.env` from `dir` into
 * `process.env` exactly as Next.js does. Cached per process unless `forceReload`.
 */
export declare function loadEnvConfig(
  dir: string,
  dev?: boolean,
  log?: Log,
  forceReload?: boolean,
  onReload?: (envFilePath: string) => void,
): {
  combinedEnv: Env
  parsedEnv: Env | undefined
  loadedEnvFiles: LoadedEnvFiles
}

export interface EnvExplanation {
  mode: 'development' | 'production' | 'test'
  /** The files read, in priority order. */
  files: string[]
  variables: Array<{
    key: string
    /** The value in `process.env` after loading. */
    value: string
    /** `'process.env'` when it was already set (files never override it), else the file that won. */
    source: string
    line?: number
    /** Every definition, in load order; all but the winning one are shadowed. */
    definitions: Array<{ file: string; line: number; quote: 'none' | 'single' | 'double' | 'backtick'; raw: string }>
    /** The `$` expansion steps that produced `value`. */
    references: Array<{ name: string; text: string; source: 'process.env' | 'default' | 'same-file' | 'empty' | 'js-builtin'; inserted: string }>
  }>
  /** Traps @next/env is silent about, e.g. `empty-reference` (a `$` in a password), `unterminated-quote`. */
  warnings: Array<{ file: string; line?: number; key?: string; code: string; message: string }>
}
/**
 * Not in @next/env (opt-in): where every variable of `dir`'s env files comes from, and warnings
 * for common traps. Reads the files as `loadEnvConfig` would; never changes `process.env`.
 */
export declare function explainEnv(
  dir: string,
  options?: { dev?: boolean; mode?: 'development' | 'production' | 'test' },
): EnvExplanation
export {}
