// Launched by test/extension/suite/runtime.test.ts under VS Code's Node debugger: runs the program
// given as the first argument (a runtime-hook example) with this process's environment, where
// LockLens's debug configuration provider put LOCKLENS_ENDPOINT and LOCKLENS_TOKEN, and exits
// with its status. Ending this process (the debugger's stop) ends the program too.
'use strict';
const { spawn } = require('child_process');

const [program, ...args] = process.argv.slice(2);
if (!program) {
  console.error('usage: node run-traced.js PROGRAM [ARGS...]');
  process.exit(2);
}
console.log(`run-traced: ${program} (LOCKLENS_ENDPOINT=${process.env.LOCKLENS_ENDPOINT || 'unset'})`);
const child = spawn(program, args, { stdio: 'inherit' });
const stop = () => {
  child.kill('SIGKILL');
  process.exit(143);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
child.on('error', (e) => {
  console.error(`run-traced: ${e.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
