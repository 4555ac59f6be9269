// Unit tests of the extension's logic (formatting, history and charts, polling) in Node.
// ts-jest compiles TypeScript to CommonJS; the code under test imports only
// lumino packages, which ship CommonJS builds, so nothing else needs transforming.
module.exports = {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/jest.setup.js'],
  testRegex: 'src/.*/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
