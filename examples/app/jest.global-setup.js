// The drop-in for Next's own `@next/env`: under Jest NODE_ENV is `test`, so this loads
// .env.test.local, .env.test and .env (never .env.local), as `next build`/`next start` would
// in test mode. Test workers start after this and inherit the values.
const { loadEnvConfig } = require('@rs/next-native/env')

module.exports = async () => {
  loadEnvConfig(process.cwd())
}
