/**
 * The event log's hash (events.ts `eventHash`) is SHA-256 of the predecessor's hash and the RFC 8785
 * (JCS) text of the row, details included as parsed JSON: chains written before the hash stopped
 * re-parsing the stored details must still verify, so the fast form must give exactly that text.
 */
import { createHash } from 'node:crypto';
import canonicalizeCjs from 'canonicalize';
import t from 'tap';
import { eventHash, GENESIS_HASH } from '../../src/modules/conservazione/events.js';

const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string;

/** The definition, as written in events.ts's header. */
const byDefinition = (prev: string, r: { seq: number; at: string; kind: string; enteId: number | null; actor: string; subject: string; details: string }) =>
  createHash('sha256')
    .update(`${prev}\n${canonicalize({ seq: r.seq, at: r.at, kind: r.kind, enteId: r.enteId, actor: r.actor, subject: r.subject, details: JSON.parse(r.details) as unknown })}`)
    .digest('hex');

t.test('the same hash as the JCS definition, for rows as appendEventSync stores them', async (t) => {
  const details = [
    {},
    { urn: 'urn:sael-pay:c_b519:pdv:2026:1', files: [{ name: 'rt.xml', sha256: 'ab'.repeat(32) }], warnings: [] },
    { note: 'Città – «virgolette» "doppie" \\ barra \n a capo \u0007 e \ud83d\ude00', n: 1e21, small: 0.000001, neg: -0, z: null, t: true },
    { b: 2, a: { d: [3, { y: 1, x: 2 }], c: 'é' } },
  ];
  let prev = GENESIS_HASH;
  for (const [i, d] of details.entries()) {
    const row = { seq: i + 1, at: `2026-04-2${i}T10:00:00.000Z`, kind: 'ingest', enteId: i % 2 ? null : 42, actor: i ? 'user:7' : 'system', subject: `sip:${i} «ü»`, details: canonicalize(d) };
    const h = eventHash(prev, row);
    t.equal(h, byDefinition(prev, row), `row ${i + 1}`);
    prev = h;
  }
});

t.test('details stored differently from their canonical text give another hash (an edited row)', async (t) => {
  const row = { seq: 1, at: '2026-04-20T10:00:00.000Z', kind: 'rdv', enteId: 1, actor: 'system', subject: 'sip:1', details: '{"a":1,"b":2}' };
  const edited = { ...row, details: '{"b":2,"a":1}' };
  t.equal(eventHash(GENESIS_HASH, row), byDefinition(GENESIS_HASH, row));
  t.not(eventHash(GENESIS_HASH, edited), eventHash(GENESIS_HASH, row));
});
