const { spawnSync } = require('node:child_process')

test('the .env files reach the tests exactly as Next loads them', () => {
  // What Next's own loader, @next/env, makes of this project in test mode, from a clean env.
  const script = "process.stdout.write(JSON.stringify(require('@next/env').loadEnvConfig(process.cwd()).parsedEnv))"
  const res = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, NODE_ENV: 'test' }, encoding: 'utf8' })
  const expected = JSON.parse(res.stdout)
  expect(expected.DATABASE_URL).toBe('postgres://localhost:5432/app_test')
  expect(Object.keys(expected).sort()).toEqual(['DATABASE_URL', 'DB_NAME', 'GREETING', 'NEXT_PUBLIC_APP_NAME', 'UPSTREAM_URL'])
  for (const [key, value] of Object.entries(expected)) expect(process.env[key]).toBe(value)
})
