// An --import hook for measuring what a command keeps alive, apart from its garbage: a full
// collection every second, and on exit the highest heap in use right after one.
//
//   node --import ./scripts/live-heap.mjs dist/src/cli.js evaluate --json FILE > /dev/null
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
let highest = 0;
setInterval(() => {
  gc();
  highest = Math.max(highest, process.memoryUsage().heapUsed);
}, 1000).unref();
process.on('exit', () => process.stderr.write(`live heap: ${(highest / 1048576).toFixed(0)} MiB at most (after a full collection, each second)\n`));
