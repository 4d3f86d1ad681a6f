import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared/specs');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
}
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

t.test('schemas shipped in the repository are unmodified copies of the official files', { skip: !fs.existsSync(shared) && 'no ../shared/specs here' }, async (t) => {
  for (const [mine, official] of [
    ['schemas/spid/xsd', 'spid/xsd'],
    ['schemas/pagopa/wsdl', 'pagopa/wsdl'],
    ['schemas/pagopa/xsd-common', 'pagopa/xsd-common'],
  ] as const) {
    const list = files(path.join(root, mine));
    t.same(list.sort(), files(path.join(shared, official)).sort(), `${mine}: same files`);
    for (const f of list) t.equal(sha(path.join(root, mine, f)), sha(path.join(shared, official, f)), `${mine}/${f}`);
  }
});
