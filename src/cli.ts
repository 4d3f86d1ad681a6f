/** Entry point of `npm run cli -- <command>`; see src/cli-commands.ts. */
import { runCli } from './cli-commands.js';

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
// Some commands (fdr:download, sim:pay) are asynchronous.
void Promise.resolve(code).then((c) => {
  process.exitCode = c;
});
