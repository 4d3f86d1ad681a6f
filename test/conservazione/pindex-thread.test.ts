/**
 * PdA indexes built and validated on the index threads (pindex-thread.ts): the same bytes, hash
 * and validation as on the main thread; bad input refused with the same error; an index the XSD
 * refuses answered as invalid; indexes held by a stopped thread built on the main thread; the
 * warm-up. Pure code: no database.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { buildValidatedIndex } from '../../src/modules/conservazione/pindex-build.js';
import { buildIndexOffThread, stopIndexThreads } from '../../src/modules/conservazione/pindex-thread.js';
import { PIndexInputError, type PIndexInput } from '../../src/modules/conservazione/pindex.js';

// Any fixed instant: nothing here depends on "now".
const CREATED = new Date('2026-03-14T09:26:53.000Z');

t.teardown(stopIndexThreads);

/**
 * A made-up index of `documents` receipts, shaped like the daily job's (two files and the
 * Allegato 5 metadata each): (the shape of a day's PdA).
 */
function samplePIndexInput(documents: number, createdAt = new Date()): PIndexInput {
  const agent = { type: 'legal person' as const, formalName: 'Comune di esempio', agentIds: ['VATIT-00000000000'], relevantDocuments: [{ text: 'Convenzione' }] };
  const sha = (i: number, o: number) => createHash('sha256').update(`${i}/${o}`).digest('hex');
  return {
    pdaId: 'urn:sael-pay:esempio:pda:0:0',
    createdAt,
    volume: { id: 'urn:sael-pay:esempio:pda:0:0:volume', versatore: { ambiente: 'DEMO', ente: 'esempio', struttura: 'Comune di esempio', userId: 'system' }, tipologia: 'Ricevuta di pagamento pagoPA' },
    documents: Array.from({ length: documents }, (_, i) => ({
      id: `doc-${i}`,
      label: `Ricevuta ${i}`,
      description: `urn:sael-pay:esempio:pdv:${i}`,
      files: [0, 1].map((o) => ({
        id: `doc-${i}-${o}`,
        path: `documenti/${i}/${o}-ricevuta.${o ? 'pdf' : 'xml'}`,
        mimeType: o ? 'application/pdf' : 'application/xml',
        extension: o ? 'pdf' : 'xml',
        sha256: sha(i, o),
        sizeBytes: 2000 + i,
        name: `ricevuta.${o ? 'pdf' : 'xml'}`,
        role: o ? ('Allegato' as const) : ('Contenuto' as const),
      })),
      metadata: {
        identificativo: `RICEVUTA-${i}`,
        modalitaDiFormazione: 'b' as const,
        tipologiaDocumentale: 'Ricevuta di pagamento pagoPA',
        datiDiRegistrazione: { tipologiaDiFlusso: 'E' as const, tipoRegistro: { kind: 'Nessuno' as const, dataDocumento: '2026-01-01' } },
        soggetti: [{ ruolo: 'AmministrazioneCheEffettuaLaRegistrazione' as const, tipo: 'PAI' as const, denominazione: 'Comune di esempio', codiceIPA: 'esempio' }],
        chiaveDescrittiva: { oggetto: `Ricevuta ${i}`, paroleChiave: [`IUV ${i}`] },
        allegati: [{ idDoc: `RICEVUTA-${i}#1`, descrizione: 'ricevuta.pdf' }],
        riservato: false,
        formato: 'application/xml',
        verifica: { firmatoDigitalmente: false, sigillatoElettronicamente: false, marcaturaTemporale: false, conformitaCopieImmagineSuSupportoInformatico: false },
        nomeDelDocumento: 'ricevuta.xml',
        versioneDelDocumento: '1',
      },
    })),
    submitter: agent,
    holders: [{ ...agent, role: 'soggetto produttore' }],
    signers: [{ ...agent, role: 'Conservatore' }],
  };
}


t.test('off the main thread: the same index, hash and validation', async (t) => {
  const input = samplePIndexInput(40, CREATED);
  const here = buildValidatedIndex(input);
  t.same(here.errors, [], 'the sample index validates (SInCRO XSD, MoreInfo schemas, Allegato 5)');
  t.ok(here.valid);
  t.equal(here.sha256, createHash('sha256').update(here.bytes).digest('hex'));
  const there = await buildIndexOffThread(input);
  t.ok(Buffer.from(there.bytes).equals(Buffer.from(here.bytes)), 'byte for byte');
  t.same({ ...there, bytes: undefined }, { ...here, bytes: undefined });
  t.match(Buffer.from(there.bytes).toString('utf8'), /<sincro:FileGroup><sincro:ID sincro:scheme="local">doc-39<\/sincro:ID>/, 'every document');

  const both = await Promise.all([buildIndexOffThread(input), buildIndexOffThread(samplePIndexInput(3, CREATED))]);
  t.equal(both[0].sha256, here.sha256, 'two at once');
  t.equal(both[1].sha256, buildValidatedIndex(samplePIndexInput(3, CREATED)).sha256);
});

t.test('bad input: the same PIndexInputError; an index the XSD refuses: invalid, with its errors', async (t) => {
  const empty = { ...samplePIndexInput(1, CREATED), documents: [] };
  t.throws(() => buildValidatedIndex(empty), PIndexInputError);
  await t.rejects(buildIndexOffThread(empty), new PIndexInputError('almeno un documento'), 'refused on the thread as here');

  // a file ID longer than ParER's MoreInfoFile XSD admits for IDComponente (254 characters): built, but not valid
  const sample = samplePIndexInput(2, CREATED);
  const doc0 = sample.documents[0]!;
  const tooLong: PIndexInput = { ...sample, documents: [{ ...doc0, files: [{ ...doc0.files[0]!, id: `doc-0-${'0'.repeat(300)}` }, doc0.files[1]!] }, sample.documents[1]!] };
  const here = buildValidatedIndex(tooLong);
  t.equal(here.valid, false, 'refused by the XSD');
  t.match(here.errors.join('\n'), /doc-0-0{300}.*ParER_Unisincro_MoreInfoFile.*IDComponente/, 'naming the file and the element');
  const there = await buildIndexOffThread(tooLong);
  t.equal(there.valid, false);
  t.same(there.errors, here.errors);
});

t.test('a stopped thread: the indexes it held are built here, and the next starts a new thread', async (t) => {
  const input = samplePIndexInput(30, CREATED);
  const expected = buildValidatedIndex(input).sha256;
  const pending = Promise.all([buildIndexOffThread(input), buildIndexOffThread(input), buildIndexOffThread(input)]);
  await stopIndexThreads();
  t.same((await pending).map((r) => r.sha256), [expected, expected, expected]);
  t.equal((await buildIndexOffThread(input)).sha256, expected);
});
