import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Next to the repository, also when this runs from its compiled copy (.test-build/, npm test).
const shared = path.resolve(path.basename(root) === '.test-build' ? path.dirname(root) : root, '../shared/specs');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
}
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

t.test('schemas shipped in the repository are unmodified copies of the official files', { skip: !fs.existsSync(shared) && 'no ../shared/specs here' }, async (t) => {
  for (const [mine, official] of [
    ['schemas/spid/xsd', 'spid/xsd'],
    ['schemas/pagopa/wsdl', 'pagopa/wsdl'],
    ['schemas/pagopa/xsd-common', 'pagopa/xsd-common'],
    ['schemas/spid/samples', 'spid/samples'],
  ] as const) {
    const list = files(path.join(root, mine));
    t.same(list.sort(), files(path.join(shared, official)).sort(), `${mine}: same files`);
    for (const f of list) t.equal(sha(path.join(root, mine, f)), sha(path.join(shared, official, f)), `${mine}/${f}`);
  }
  // A folder of which only some official files are shipped: each one is identical to its original.
  for (const [mine, official] of [['schemas/pagopa/openapi', 'pagopa/openapi'], ['schemas/conservazione', 'conservazione'], ['schemas/io', 'io'], ['schemas/treasury', 'treasury']] as const) {
    for (const f of files(path.join(root, mine))) t.equal(sha(path.join(root, mine, f)), sha(path.join(shared, official, f)), `${mine}/${f}`);
  }
});

t.test('no code or test reads the ../shared folder: a clone stands alone', async (t) => {
  const offenders: string[] = [];
  for (const dir of ['src', 'test', 'scripts', 'bench']) {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) continue;
    for (const f of files(base)) {
      if (!/\.(ts|mts|js|mjs)$/.test(f) || /^schemas\.test\.[jt]s$/.test(f)) continue;
      const text = fs.readFileSync(path.join(base, f), 'utf8');
      if (/\.\.\/shared\/|\/work\/shared|shared\/specs/.test(text)) offenders.push(`${dir}/${f}`);
    }
  }
  t.same(offenders, [], 'files that read ../shared');
});
