import crypto from 'node:crypto';
import t from 'tap';
import {
  buildPIndex,
  CONSERVATOR_NAME,
  conservatorAgent,
  PIndexInputError,
  SINCRO_NS,
  type DocumentInput,
  type PIndexInput,
} from '../../src/modules/conservazione/pindex.js';
import { PINDEX_XSD, validatePIndex } from '../../src/modules/conservazione/pindex-validate.js';
import { parseXmlSafely } from '../../src/xml/safe-parse.js';
import { validateXml } from '../../src/xml/xsd.js';

const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
// Any fixed instant: nothing here depends on "now" or expires.
const CREATED = new Date('2026-03-14T09:26:53.000Z');

const RT_XML = Buffer.from(
  `<?xml version="1.0" encoding="UTF-8"?><pafn:paSendRTV2Request xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd"><idPA>00071200705</idPA><idBrokerPA>00139600704</idBrokerPA><idStation>00139600704_01</idStation><receipt><receiptId>c2f4e0d1</receiptId><noticeNumber>301000000000000123</noticeNumber><fiscalCode>00071200705</fiscalCode><outcome>OK</outcome><creditorReferenceId>01000000000000123</creditorReferenceId><paymentAmount>12.50</paymentAmount><description>TARI 2026 – rata unica</description></receipt></pafn:paSendRTV2Request>`,
);
const RT_PDF = Buffer.from('%PDF-1.7\n% ricevuta di pagamento (test)\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

const conservator = conservatorAgent('00139600704', 'Manuale di conservazione S.A.E.L. v1');
const ente = {
  type: 'legal person' as const,
  formalName: 'Comune di Campobasso',
  agentIds: ['VATIT-00071200705'],
  relevantDocuments: [{ text: 'Convenzione di adesione al servizio di conservazione' }],
};

function receiptDocument(): DocumentInput {
  return {
    id: 'RT-301000000000000123',
    label: 'Ricevuta telematica pagoPA',
    files: [
      { id: 'RT-301000000000000123-xml', path: 'files/rt.xml', mimeType: 'application/xml', extension: 'xml', sha256: sha256(RT_XML), sizeBytes: RT_XML.length, name: 'rt.xml', role: 'Contenuto' },
      { id: 'RT-301000000000000123-pdf', path: 'files/ricevuta.pdf', mimeType: 'application/pdf', extension: 'pdf', sha256: sha256(RT_PDF), sizeBytes: RT_PDF.length, name: 'ricevuta.pdf', role: 'Rappresentazione' },
    ],
    metadata: {
      identificativo: 'c2f4e0d1',
      modalitaDiFormazione: 'c',
      tipologiaDocumentale: 'Ricevuta telematica pagoPA',
      datiDiRegistrazione: { tipologiaDiFlusso: 'E', tipoRegistro: { kind: 'Nessuno', dataDocumento: '2026-03-13', numeroDocumento: '301000000000000123' } },
      soggetti: [
        { ruolo: 'Produttore', tipo: 'SW', nome: 'sael-pay', versione: '1', produttore: CONSERVATOR_NAME },
        { ruolo: 'Destinatario', tipo: 'PAI', denominazione: 'Comune di Campobasso', codiceIPA: 'c_b519' },
      ],
      chiaveDescrittiva: { oggetto: 'Ricevuta del pagamento IUV 01000000000000123', paroleChiave: ['pagoPA', 'TARI'] },
      riservato: false,
      formato: 'XML',
      verifica: { firmatoDigitalmente: false, sigillatoElettronicamente: false, marcaturaTemporale: false, conformitaCopieImmagineSuSupportoInformatico: false },
      aggregazioni: [{ tipo: 'Serie Documentale', id: 'RT-2026' }],
      nomeDelDocumento: 'rt.xml',
      versioneDelDocumento: '1',
      tempoDiConservazione: 10,
    },
  };
}

function receiptInput(): PIndexInput {
  return {
    pdaId: 'urn:sael:pda:c_b519:2026:RT-301000000000000123',
    createdAt: CREATED,
    volume: {
      id: 'UD-RT-301000000000000123',
      versatore: { ambiente: 'SAEL', ente: 'Comune di Campobasso', struttura: 'c_b519', userId: 'conservazione-job' },
      chiave: { numero: '301000000000000123', anno: 2026, registro: 'RT' },
      tipologia: 'Ricevuta telematica pagoPA',
      oggetto: 'Ricevuta del pagamento IUV 01000000000000123',
      data: '2026-03-13',
    },
    documents: [receiptDocument()],
    submitter: ente,
    holders: [{ ...ente, role: 'soggetto produttore' }],
    signers: [
      conservator,
      { type: 'natural person', firstName: 'Maria', lastName: 'Rossi', agentIds: ['TINIT-RSSMRA80A41B519X'], relevantDocuments: [{ text: 'Nomina a responsabile del servizio di conservazione' }], role: 'Responsabile del servizio di conservazione' },
    ],
  };
}

const DETERMINA = Buffer.from('%PDF-1.7\n% determina dirigenziale (test)\n%%EOF\n');
const ALLEGATO = Buffer.from('%PDF-1.7\n% allegato tecnico (test)\n%%EOF\n');

function genericInput(): PIndexInput {
  return {
    pdaId: 'urn:sael:pda:c_b519:2026:DET-42:v2',
    createdAt: CREATED,
    volume: {
      id: 'UD-DET-42',
      label: 'Determina 42/2026',
      versatore: { ambiente: 'SAEL', ente: 'Comune di Campobasso', struttura: 'c_b519', userId: 'ufficio.ragioneria' },
      chiave: { numero: '42', anno: 2026, registro: 'DETERMINE' },
      tipologia: 'Determina',
    },
    documents: [
      {
        id: 'DET-42',
        files: [
          { id: 'DET-42-pdf', path: 'files/determina 42.pdf', mimeType: 'application/pdf', extension: 'pdf', sha256: sha256(DETERMINA), sizeBytes: DETERMINA.length, previous: { pindexId: 'urn:sael:pda:c_b519:2026:DET-42:v1', sha256: sha256(DETERMINA) } },
          { id: 'DET-42-all1', path: 'files/allegato-1.pdf', mimeType: 'application/pdf', sha256: sha256(ALLEGATO), sizeBytes: ALLEGATO.length },
        ],
        metadata: {
          identificativo: 'DET-42-2026',
          modalitaDiFormazione: 'a',
          tipologiaDocumentale: 'Determine',
          datiDiRegistrazione: { tipologiaDiFlusso: 'I', tipoRegistro: { kind: 'Repertorio_Registro', data: '2026-03-10', ora: '11:30', numero: '42', codiceRegistro: 'DETERMINE' } },
          soggetti: [
            { ruolo: 'Autore', tipo: 'PF', nome: 'Luca', cognome: 'Bianchi', codiceFiscale: 'BNCLCU70A01B519Z' },
            { ruolo: 'AmministrazioneCheEffettuaLaRegistrazione', tipo: 'PAI', denominazione: 'Comune di Campobasso', codiceIPA: 'c_b519', aoo: 'AOO1' },
          ],
          chiaveDescrittiva: { oggetto: 'Affidamento del servizio di manutenzione' },
          allegati: [{ idDoc: 'DET-42-all1', descrizione: 'Capitolato tecnico' }],
          classificazione: { indice: '4.3', descrizione: 'Beni e servizi' },
          riservato: true,
          formato: 'PDF',
          verifica: { firmatoDigitalmente: true, sigillatoElettronicamente: false, marcaturaTemporale: false, conformitaCopieImmagineSuSupportoInformatico: false },
          nomeDelDocumento: 'determina 42.pdf',
          versioneDelDocumento: '2',
          tracciatura: { tipo: 'Rettifica', autore: 'Luca Bianchi', data: '2026-03-12', idDocVersionePrecedente: 'DET-42-2026' },
          tempoDiConservazione: 9999,
        },
      },
    ],
    submitter: ente,
    holders: [{ ...ente, role: 'soggetto produttore' }],
    signers: [conservator],
    previous: { pindexId: 'urn:sael:pda:c_b519:2026:DET-42:v1', path: '../v1/pindex.xml', sha256: sha256('previous index') },
  };
}

const ns = (doc: Document, name: string) => Array.from({ length: doc.getElementsByTagNameNS(SINCRO_NS, name).length }, (_, i) => doc.getElementsByTagNameNS(SINCRO_NS, name).item(i)!);
const plain = (doc: Document, name: string) => Array.from({ length: doc.getElementsByTagName(name).length }, (_, i) => doc.getElementsByTagName(name).item(i)!);

t.test('a pagoPA receipt (raw XML + PDF) gives a PIndex valid against Unisincro_PIndex_v2.0.xsd and the MoreInfo XSDs', async (t) => {
  const xml = buildPIndex(receiptInput());
  t.same(validateXml(PINDEX_XSD, xml, { maxBytes: 32 * 1024 * 1024 }), { valid: true, errors: [] }, 'the official SInCRO v2 schema alone');
  t.same(validatePIndex(xml), { valid: true, errors: [] }, 'with the ParER MoreInfo schemas and the Allegato 5 check');
  t.equal(buildPIndex(receiptInput()), xml, 'the same input gives the same bytes (the index is hashed and signed)');
  const doc = parseXmlSafely(xml);
  t.equal(doc.documentElement.getAttributeNS(SINCRO_NS, 'sincroVersion'), '2.0');
  t.equal(ns(doc, 'File').length, 2);
  t.same(ns(doc, 'File').map((f) => f.getAttributeNS(SINCRO_NS, 'format')), ['application/xml', 'application/pdf']);
  t.equal(ns(doc, 'TimeInfo')[0]!.textContent, CREATED.toISOString());
  t.equal(ns(doc, 'FormalName').map((e) => e.textContent).filter((n) => n === CONSERVATOR_NAME).length, 1, 'the conservator signs');
});

t.test('a generic document, new version of a previous PdA, validates; the link to the previous index is there', async (t) => {
  const xml = buildPIndex(genericInput());
  t.same(validatePIndex(xml), { valid: true, errors: [] });
  const doc = parseXmlSafely(xml);
  const src = ns(doc, 'PIndexSource')[0]!;
  t.equal(src.getAttributeNS(SINCRO_NS, 'derivation'), 'onetoone');
  t.equal(src.getElementsByTagNameNS(SINCRO_NS, 'ID').item(0)!.textContent, 'urn:sael:pda:c_b519:2026:DET-42:v1');
  t.equal(src.getElementsByTagNameNS(SINCRO_NS, 'Hash').item(0)!.textContent, sha256('previous index'));
  t.equal(ns(doc, 'PreviousHash')[0]!.getAttributeNS(SINCRO_NS, 'relatedPIndex'), 'urn:sael:pda:c_b519:2026:DET-42:v1');
  t.equal(ns(doc, 'Path')[1]!.textContent, 'files/determina%2042.pdf', 'paths are written as URIs');
});

t.test('the validator really validates: one required element removed makes it fail', async (t) => {
  const xml = buildPIndex(receiptInput());
  const cases: [string, string, RegExp][] = [
    ['File/Hash', xml.replace(/<sincro:Hash [^>]*>[^<]*<\/sincro:Hash>/, ''), /Hash/],
    ['Process/TimeReference', xml.replace(/<sincro:TimeReference>.*?<\/sincro:TimeReference>/, ''), /TimeReference/],
    ['PVolume', xml.replace(/<sincro:PVolume>.*?<\/sincro:PVolume>/, ''), /PVolume/],
    ['ID@scheme', xml.replace(' sincro:scheme="local"', ''), /scheme/],
    ['MetadatiIntegratiPdA/TipologiaUnitaDocumentaria (ParER XSD)', xml.replace(/<TipologiaUnitaDocumentaria>.*?<\/TipologiaUnitaDocumentaria>/, ''), /TipologiaUnitaDocumentaria|ProfiloUnitaDocumentaria/],
    ['MetadatiIntegratiFile/DimensioneFile not a number (ParER XSD)', xml.replace(/<DimensioneFile>\d+</, '<DimensioneFile>molti<'), /DimensioneFile/],
    ['Allegato 5 Riservato', xml.replace(/<Riservato>false<\/Riservato>/, ''), /Riservato/],
    ['MoreInfo naming an unknown schema', xml.replace('sincro:xmlSchema="ParER_Unisincro_MoreInfoFile_v1.1.xsd"', 'sincro:xmlSchema="altro.xsd"'), /schema MoreInfo sconosciuto "altro.xsd"/],
    ['not XML at all', 'PIndex', /./],
    ['Allegato 5 VersioneDelDocumento', xml.replace(/<VersioneDelDocumento>1<\/VersioneDelDocumento>/, ''), /VersioneDelDocumento/],
  ];
  for (const [what, broken, message] of cases) {
    t.not(broken, xml, `${what}: removed`);
    const r = validatePIndex(broken);
    t.equal(r.valid, false, `${what}: invalid`);
    t.match(r.errors.join('\n'), message, `${what}: named in the errors`);
  }
});

t.test('values with <, &, quotes and non-ASCII are escaped and read back unchanged', async (t) => {
  const nasty = `Ditta "Rossi" & <Figli> l'Aquila – città № 5 ✓ 𝄞`;
  const input = receiptInput();
  const doc0 = input.documents[0]!;
  doc0.metadata.chiaveDescrittiva.oggetto = nasty;
  doc0.metadata.soggetti.push({ ruolo: 'Mittente', tipo: 'PG', denominazione: nasty });
  doc0.files[1]!.name = `ricevuta "n.1" & <copia>.pdf`;
  input.volume.oggetto = nasty;
  input.submitter = { ...ente, formalName: nasty };
  input.signers[0] = { ...conservator, role: `Conservatore "a norma" & <firma>` };
  const xml = buildPIndex(input);
  t.same(validatePIndex(xml), { valid: true, errors: [] });
  const doc = parseXmlSafely(xml);
  t.equal(plain(doc, 'Oggetto').filter((e) => e.textContent === nasty).length, 2, 'ChiaveDescrittiva/Oggetto and ProfiloUnitaDocumentaria/Oggetto');
  t.ok(plain(doc, 'Denominazione').some((e) => e.textContent === nasty));
  t.equal(ns(doc, 'Submitter')[0]!.getElementsByTagNameNS(SINCRO_NS, 'FormalName').item(0)!.textContent, nasty);
  t.equal(plain(doc, 'NomeComponente')[1]!.textContent, `ricevuta "n.1" & <copia>.pdf`);
  t.equal(ns(doc, 'AuthorizedSigner')[0]!.getAttributeNS(SINCRO_NS, 'signerRole'), `Conservatore "a norma" & <firma>`);
});

t.test('the SHA-256 in the index is the file’s (hex in SInCRO and ParER, base64 in the Allegato 5 impronta)', async (t) => {
  const doc = parseXmlSafely(buildPIndex(receiptInput()));
  const files = ns(doc, 'File');
  for (const [i, bytes] of [RT_XML, RT_PDF].entries()) {
    const hash = files[i]!.getElementsByTagNameNS(SINCRO_NS, 'Hash').item(0)!;
    t.equal(hash.textContent, crypto.createHash('sha256').update(bytes).digest('hex'));
    t.equal(hash.getAttributeNS(SINCRO_NS, 'hashFunction'), 'SHA-256');
    t.equal(files[i]!.getElementsByTagName('Hash').item(0)!.textContent, hash.textContent, 'ParER MetadatiIntegratiFile/Hash');
    t.equal(files[i]!.getElementsByTagName('DimensioneFile').item(0)!.textContent, String(bytes.length));
  }
  t.equal(plain(doc, 'Impronta')[0]!.textContent, crypto.createHash('sha256').update(RT_XML).digest('base64'), 'the document impronta is its main file');
  t.equal(plain(doc, 'Algoritmo')[0]!.textContent, 'SHA-256');
});

t.test('bad input is refused with a readable error, before any XML is written', async (t) => {
  const bad: [string, (i: PIndexInput) => void, RegExp][] = [
    ['hash not hex', (i) => (i.documents[0]!.files[0]!.sha256 = 'abc'), /SHA-256 non valido/],
    ['AgentID pattern', (i) => (i.submitter.agentIds = ['IT00071200705']), /AgentID/],
    ['no files', (i) => (i.documents[0]!.files = []), /almeno un file/],
    ['duplicate IDs', (i) => (i.documents[0]!.files[1]!.id = i.documents[0]!.files[0]!.id), /ID duplicato/],
    ['retention out of range', (i) => (i.documents[0]!.metadata.tempoDiConservazione = 10000), /TempoDiConservazione/],
    ['six keywords', (i) => (i.documents[0]!.metadata.chiaveDescrittiva.paroleChiave = ['a', 'b', 'c', 'd', 'e', 'f']), /parole chiave/],
    ['control character', (i) => (i.volume.oggetto = 'a\u0001b'), /non ammessi/],
    ['lone surrogate in a path', (i) => (i.documents[0]!.files[0]!.path = 'files/\uD800.xml'), /non ammessi/],
    ['blank optional value is left out, a blank required one is refused', (i) => ((i.volume.label = '  '), (i.volume.versatore.ente = ' ')), /versatore ente: valore obbligatorio mancante/],
    ['empty identificativo', (i) => (i.documents[0]!.metadata.identificativo = ' '), /identificativo/],
  ];
  for (const [what, mutate, message] of bad) {
    const input = receiptInput();
    mutate(input);
    t.throws(() => buildPIndex(input), PIndexInputError, what);
    t.throws(() => buildPIndex(input), message, what);
  }
});
