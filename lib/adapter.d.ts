declare namespace adapter {
  /** A next.config object, as Next completes it (typed by `next`'s own `NextConfigComplete`). */
  type NextConfigComplete = { [key: string]: any }

  /**
   * The Next.js 16.2+ adapter (`adapterPath: require.resolve('@rs/next-native/adapter')`, or
   * `NEXT_ADAPTER_PATH`). Structurally a `NextAdapter` of `next/dist/build/adapter/build-complete`.
   */
  interface NextNativeAdapter {
    name: '@rs/next-native'
    /** The rules of `withNextNative(config)` with default options; settings already in `config` win. */
    modifyConfig(config: NextConfigComplete, ctx: { phase: string; nextVersion: string; projectDir: string }): NextConfigComplete
    /**
     * With `output: 'standalone'`: throws `ERR_NEXT_NATIVE_NOT_TRACED` when Next's file trace
     * lacks the native binary the build loaded.
     */
    onBuildComplete(ctx: {
      config: NextConfigComplete
      distDir: string
      projectDir: string
      repoRoot: string
      outputs: { [kind: string]: any }
      [key: string]: any
    }): Promise<void>
  }
}

declare const adapter: adapter.NextNativeAdapter

export = adapter
