/**
 * Test-run module hook, registered after tsx (package.json "tap.node-arg"): ES modules shipped
 * as `.mjs` under node_modules are plain JavaScript and are loaded as they are, without tsx's
 * transform. tsx rewrites every module it loads and builds a source map for it: for
 * libxml2-wasm's 963 KB `libxml2raw.mjs` (the WebAssembly inlined) that took 0.8 s in every
 * test process, against 0.07 s untransformed.
 */
import { register } from 'node:module';

register('./test-loader-hooks.mjs', import.meta.url);
