// Runs the whole suite by default; `npx mocha build/test/x.test.js` (any .js path given) runs just that.
const given = process.argv.slice(2).some((a) => a.endsWith('.js') && !a.includes('mocharc'));
module.exports = {
  ...(given ? {} : { spec: ['build/test/**/*.test.js'] }),
  recursive: true,
  // fast-check's generators range up to the maxLength a property gives (see the file).
  require: ['./build/test/helpers/property-sizes.js'],
  timeout: 20000,
  exit: true,
  reporter: './scripts/mocha-reporter.js',
};
