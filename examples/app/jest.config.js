/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Load .env files exactly as Next does, once, before any test file runs.
  globalSetup: './jest.global-setup.js',
}
