/**
 * The TSA simulator as the app serves it outside production: a time stamp asked over real HTTP
 * with the client of the conservazione module verifies against the certificate the simulator
 * publishes; production has no such route.
 */
import crypto from 'node:crypto';
import t from 'tap';
import { requestTimestamp } from '../../src/modules/conservazione/timestamp.js';
import { buildTestApp } from '../helpers.js';

t.test('the demo app time-stamps a digest that verifies with the published certificate', async (t) => {
  const app = await buildTestApp(t);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const cert = await (await fetch(`${base}/simulators/tsa/tsa.pem`)).text();
  t.match(cert, /BEGIN CERTIFICATE/);
  const digest = crypto.createHash('sha256').update('ricevuta di prova').digest();
  const ts = await requestTimestamp(`${base}/simulators/tsa`, digest, { tsaCertificate: cert });
  t.ok(ts.genTime instanceof Date, 'a verified token with its time');
  const form = await fetch(`${base}/simulators/tsa`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  t.ok([400, 415].includes(form.status), `another media type is refused (${form.status})`);
});
