/** The load hook of scripts/test-loader.mjs: node_modules/**.mjs bypass the next hooks (tsx). */
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file://') && url.includes('/node_modules/') && url.endsWith('.mjs')) {
    return { format: 'module', source: await readFile(new URL(url)), shortCircuit: true };
  }
  return nextLoad(url, context);
}
