// Harness self-test: a test module whose run() rejects.  The extension host must report a
// non-zero exit code and the runner must fail.
exports.run = () => Promise.reject(new Error('deliberate failure (harness self-test)'));
