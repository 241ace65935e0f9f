export interface BuildIdOptions {
  /** Project directory. Default: `process.cwd()` (where `next build` runs). */
  dir?: string
  /** Env var names whose values change the ID, in addition to every `NEXT_PUBLIC_*`. Values are hashed, never stored. */
  env?: string[]
  /** If set, only files matching one of these globs are inputs (`package.json`, lockfiles and `next.config.*` always are). */
  include?: string[]
  /** Files and directories matching these globs are not inputs. `*` does not cross `/`, `**` does. */
  exclude?: string[]
  /** Any string that should change the ID (e.g. a deploy target). Only its hash is stored. */
  salt?: string
  /** next.config `distDir` if not `.next`, so build output never feeds back into the ID. */
  distDir?: string
  /** The Next.js version to hash. Default: the `next` that resolves from `dir`, if any. */
  nextVersion?: string
}

export interface ManifestFile {
  path: string
  kind: 'file' | 'symlink'
  size: number
  sha256: string
}

export interface Manifest {
  format_version: number
  digest: string
  next_version: string | null
  salt_sha256: string | null
  env: Array<{ name: string; value_sha256: string }>
  files: ManifestFile[]
}

export type ManifestChange =
  | { change: 'format_version_changed'; old: number; new: number }
  | { change: 'next_version_changed'; old: string | null; new: string | null }
  | { change: 'salt_changed'; old_present: boolean; new_present: boolean }
  | { change: 'env_added' | 'env_removed' | 'env_value_changed'; name: string }
  | { change: 'file_added' | 'file_removed'; path: string; kind: 'file' | 'symlink'; size: number }
  | { change: 'file_changed'; path: string; old_kind: 'file' | 'symlink'; new_kind: 'file' | 'symlink'; old_size: number; new_size: number }

export interface ProjectHash {
  /** 26 characters of `[2-9b-z]`, never containing `a` or `d` (so never `ad`). */
  buildId: string
  /** 32 characters, valid for next.config `deploymentId`. */
  deploymentId: string
  manifest: Manifest
}

/** next.config `generateBuildId`: the content hash of the project in `process.cwd()`. */
export declare function generateBuildId(): Promise<string>
/** A `generateBuildId` with fixed options, e.g. `createGenerateBuildId({ dir: __dirname })`. */
export declare function createGenerateBuildId(options?: BuildIdOptions): () => Promise<string>
export declare function buildId(options?: BuildIdOptions): Promise<string>
export declare function buildIdSync(options?: BuildIdOptions): string
export declare function deploymentId(options?: BuildIdOptions): Promise<string>
export declare function deploymentIdSync(options?: BuildIdOptions): string
/** The per-file manifest. */
export declare function hashTree(options?: BuildIdOptions): Promise<Manifest>
export declare function hashTreeSync(options?: BuildIdOptions): Manifest
/** Build ID, deployment ID and manifest from one walk. */
export declare function hashProject(options?: BuildIdOptions): Promise<ProjectHash>
export declare function hashProjectSync(options?: BuildIdOptions): ProjectHash
/**
 * Exactly which inputs changed from `before` to `after` (manifest objects or JSON text). A
 * manifest that does not parse or whose digest does not match throws `ERR_BUILD_ID_MANIFEST_*`
 * with a message naming it (`The "after" manifest is invalid: ...`).
 */
export declare function explain(before: Manifest | string, after: Manifest | string): ManifestChange[]
