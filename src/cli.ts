/** Entry point of `npm run cli -- <command>`; see src/cli-commands.ts. */
import { runCli } from './cli-commands.js';

process.exitCode = runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
