// Harness self-test: mocha with one passing and one failing test, written like suite/index.ts
// (results to $LOCKLENS_TEST_RESULTS).  The runner must print "1 passed, 1 failed" and fail.
const fs = require('fs');
const Mocha = require('mocha');

exports.run = () => {
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false });
  const marker = process.env.LOCKLENS_TEST_REPORT_MARKER || '';
  Mocha.reporters.Base.consoleLog = (...args) => console.log(marker + require('util').format(...args));
  mocha.suite.emit('pre-require', global, 'selftest', mocha);
  describe('harness self-test', () => {
    it('passes', () => {});
    it('fails on purpose', () => {
      throw new Error('deliberate failure (harness self-test)');
    });
  });
  const results = { passes: 0, failures: [], pending: [] };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (process.env.LOCKLENS_TEST_RESULTS) fs.writeFileSync(process.env.LOCKLENS_TEST_RESULTS, JSON.stringify(results));
      failures ? reject(new Error(`${failures} failed`)) : resolve();
    });
    runner.on('pass', () => results.passes++);
    runner.on('fail', (t, e) => results.failures.push({ title: t.fullTitle(), error: String(e && e.message) }));
  });
};
