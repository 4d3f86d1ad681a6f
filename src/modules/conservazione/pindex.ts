/**
 * The index of a Pacchetto di Archiviazione (PdA): a UNI 11386:2020 "SInCRO v2" `PIndex`
 * (schemas/conservazione/Unisincro_PIndex_v2.0.xsd, namespace {@link SINCRO_NS}). Pure: typed
 * input in, XML text out; no I/O, no clock (the creation time is an input).
 *
 * Layout (as ParER SacER fills a v2 PIndex, see the spec digest §4):
 * - SelfDescription: the PdA id (scheme "local"), the creating application, and — for a new
 *   version of a PdA (metadata changed) — a `PIndexSource` naming the previous index and its hash.
 * - PVolume: the unità documentaria; MoreInfo = ParER `MetadatiIntegratiPdA`
 *   (ParER_Unisincro_MoreInfoPVolume_v2.0.xsd).
 * - FileGroup per document: its files, and in MoreInfo the AgID Allegato 5 metadata
 *   (`DocumentoAmministrativoInformatico`, element names as in the spec digest §5; no official XSD
 *   is shipped, so {@link ALLEGATO5_SCHEMA} is our identifier and pindex-validate.ts checks the
 *   required names).
 * - File: ID, Path, Hash (SHA-256, lowercase hex: the XSD types it as a plain string and leaves the
 *   encoding open; `hashFunction` carries the algorithm), optional PreviousHash, MoreInfo = ParER
 *   `MetadatiIntegratiFile` (ParER_Unisincro_MoreInfoFile_v1.1.xsd).
 * - Process: Submitter (the ente), Holder (soggetto produttore), AuthorizedSigner (the conservator:
 *   Provincia di Campobasso – S.A.E.L., and/or its responsabile), TimeReference (TimeInfo, no
 *   attached time stamp: the index is time-stamped separately), LawsAndRegulations.
 *
 * The schema is `attributeFormDefault="qualified"`: every SInCRO attribute carries the prefix.
 * Every value is escaped by the project's XML writer (src/modules/pagopa/soap.ts `el`).
 */
import { el, XmlNode, type XmlContent } from '../pagopa/soap.js';
import { isXmlText } from '../../xml/xml-chars.js';

export const SINCRO_NS = 'http://www.uni.com/U3011/sincro-v2/';
export const SINCRO_URI = 'http://www.uni.com/U3011/sincro-v2/PIndex.xsd';
/** Values of MoreInfo/@xmlSchema, mapped to local files by pindex-validate.ts. */
export const MOREINFO_PVOLUME_SCHEMA = 'ParER_Unisincro_MoreInfoPVolume_v2.0.xsd';
export const MOREINFO_FILE_SCHEMA = 'ParER_Unisincro_MoreInfoFile_v1.1.xsd';
export const ALLEGATO5_SCHEMA = 'urn:sael-pay:conservazione:allegato5:DocumentoAmministrativoInformatico:1.0';

export const CONSERVATOR_NAME = 'Provincia di Campobasso – S.A.E.L.';
export const DEFAULT_LAWS_AND_REGULATIONS =
  'Linee Guida sulla formazione, gestione e conservazione dei documenti informatici (AgID, 09-09-2020)';

/** The four Allegato 5 "modalità di formazione" (Linee Guida §2.1.1 a–d). */
export const MODALITA_DI_FORMAZIONE = {
  a: 'creazione tramite l’utilizzo di strumenti software che assicurino la produzione di documenti nei formati previsti nell’Allegato 2',
  b: 'acquisizione di un documento informatico per via telematica o su supporto informatico, acquisizione della copia per immagine su supporto informatico di un documento analogico, acquisizione della copia informatica di un documento analogico',
  c: 'memorizzazione su supporto informatico in formato digitale delle informazioni risultanti da transazioni o processi informatici o dalla presentazione telematica di dati attraverso moduli o formulari resi disponibili all’utente',
  d: 'generazione o raggruppamento anche in via automatica di un insieme di dati o registrazioni, provenienti da una o più banche dati, anche appartenenti a più soggetti interoperanti, secondo una struttura logica predeterminata e memorizzata in forma statica',
} as const;

export const RUOLI = [
  'AmministrazioneCheEffettuaLaRegistrazione',
  'Assegnatario',
  'Destinatario',
  'Mittente',
  'Autore',
  'Operatore',
  'ResponsabileGestioneDocumentale',
  'ResponsabileServizioProtocollo',
  'Produttore',
  'RUP',
] as const;
export type Ruolo = (typeof RUOLI)[number];

/** A person or organisation in Process. `agentIds` like `VATIT-00000000000` or `TINIT-RSSMRA80A01H501U`. */
export type AgentInput = {
  agentIds?: string[];
  /** What qualifies the agent (a deed, a mandate, a certificate): at least one (XSD RelevantDocument+). */
  relevantDocuments: { text: string; uri?: string; sha256?: string }[];
} & (
  | { type: 'legal person'; formalName: string }
  | { type: 'natural person'; firstName: string; lastName: string }
);

export interface FileInput {
  /** Unique in the index. */
  id: string;
  /** Path of the file inside the PdA (relative URI, e.g. `files/rt.xml`). */
  path: string;
  /** MIME type identified from the bytes (File/@format). */
  mimeType: string;
  /** Extension without the dot (File/@extension). */
  extension?: string;
  /** SHA-256 of the bytes, 64 hex digits. */
  sha256: string;
  sizeBytes: number;
  /** File name as submitted (ParER NomeComponente). */
  name?: string;
  /** ParER TipoComponente, e.g. "Contenuto", "Rappresentazione". */
  role?: string;
  /** Hash of the same file in the previous version of the PdA. */
  previous?: { pindexId: string; sha256: string };
}

export type TipoRegistro =
  | { kind: 'Nessuno'; dataDocumento: string; numeroDocumento?: string }
  | { kind: 'ProtocolloOrdinario_ProtocolloEmergenza'; data: string; ora?: string; numero: string; codiceRegistro: string }
  | { kind: 'Repertorio_Registro'; data: string; ora?: string; numero: string; codiceRegistro: string };

export type SoggettoInput = { ruolo: Ruolo } & (
  | { tipo: 'PF'; nome: string; cognome: string; codiceFiscale?: string }
  | { tipo: 'PG'; denominazione: string; partitaIvaOCodiceFiscale?: string }
  | { tipo: 'PAI'; denominazione: string; codiceIPA: string; aoo?: string; uor?: string }
  | { tipo: 'PAE'; denominazione: string }
  | { tipo: 'AS'; denominazione: string }
  | { tipo: 'SW'; nome: string; versione?: string; produttore?: string }
);

/** AgID Allegato 5 minimum metadata of one document (names as in the spec digest §5). */
export interface Allegato5Metadata {
  /** IdDoc/Identificativo. The impronta is the SHA-256 of the document's main file. */
  identificativo: string;
  segnatura?: string;
  modalitaDiFormazione: keyof typeof MODALITA_DI_FORMAZIONE;
  tipologiaDocumentale: string;
  datiDiRegistrazione: { tipologiaDiFlusso: 'E' | 'U' | 'I'; tipoRegistro: TipoRegistro };
  soggetti: SoggettoInput[];
  chiaveDescrittiva: { oggetto: string; paroleChiave?: string[] };
  allegati?: { idDoc: string; descrizione: string }[];
  classificazione?: { indice: string; descrizione: string; piano?: string };
  riservato: boolean;
  formato: string;
  prodottoSoftware?: { nome: string; versione?: string; produttore?: string };
  verifica: {
    firmatoDigitalmente: boolean;
    sigillatoElettronicamente: boolean;
    marcaturaTemporale: boolean;
    conformitaCopieImmagineSuSupportoInformatico: boolean;
  };
  aggregazioni?: { tipo: 'Fascicolo' | 'Serie Documentale' | 'Serie Di Fascicoli'; id: string }[];
  idDocumentoPrimario?: string;
  nomeDelDocumento: string;
  versioneDelDocumento: string;
  tracciatura?: {
    tipo: 'Annullamento' | 'Rettifica' | 'Integrazione' | 'Annotazione';
    autore: string;
    data: string;
    idDocVersionePrecedente: string;
  };
  /** Years, 1..9999. */
  tempoDiConservazione?: number;
  note?: string;
}

export interface DocumentInput {
  /** FileGroup/ID, unique in the index. */
  id: string;
  label?: string;
  description?: string;
  /** The first file is the document's main file (its hash is the Allegato 5 impronta). */
  files: FileInput[];
  metadata: Allegato5Metadata;
}

export interface PIndexInput {
  /** The PdA id (SelfDescription/ID, scheme "local"), e.g. a URN. */
  pdaId: string;
  createdAt: Date;
  application?: { name: string; version: string; producer: string };
  volume: {
    id: string;
    label?: string;
    description?: string;
    /** ParER MetadatiIntegratiPdA. */
    versatore: { ambiente: string; ente: string; struttura: string; userId: string };
    chiave?: { numero: string; anno: number; registro: string };
    urn?: string;
    tipologia: string;
    oggetto?: string;
    /** YYYY-MM-DD */
    data?: string;
    note?: string;
  };
  documents: DocumentInput[];
  /** The ente that submitted the PdV. */
  submitter: AgentInput;
  holders: (AgentInput & { role: 'soggetto produttore' | 'soggetto proprietario' | 'soggetto possessore' | 'soggetto detentore' })[];
  /** The conservator (and/or its responsabile) who signs the index. */
  signers: (AgentInput & { role?: string })[];
  lawsAndRegulations?: string;
  /** The index this one replaces (new version after a metadata change). */
  previous?: { pindexId: string; path: string; sha256: string };
}

/**
 * The conservator as a SInCRO agent (legal person, AgentID `VATIT-<codice fiscale>`), to be used as
 * AuthorizedSigner; its codice fiscale and qualifying document come from configuration.
 */
export function conservatorAgent(fiscalCode: string, relevantDocument = 'Manuale di conservazione'): AgentInput & { role: string } {
  return {
    type: 'legal person',
    formalName: CONSERVATOR_NAME,
    agentIds: [`VATIT-${fiscalCode}`],
    relevantDocuments: [{ text: relevantDocument }],
    role: 'Conservatore',
  };
}

export class PIndexInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PIndexInputError';
  }
}

export const DEFAULT_APPLICATION = { name: 'sael-pay', version: '1', producer: CONSERVATOR_NAME };

const HEX64 = /^[0-9a-fA-F]{64}$/;
const AGENT_ID = /^(PAS|IDC|PNO|TIN|VAT|NTR|([A-Za-z0-9]{2}:))[A-Z]{2}-[a-zA-Z0-9]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}(:\d{2})?$/;

function fail(msg: string): never {
  throw new PIndexInputError(msg);
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value.trim() === '') fail(`${what}: valore obbligatorio mancante`);
  if (!isXmlText(value)) fail(`${what}: contiene caratteri non ammessi in XML`);
  return value;
}

function opt(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return need(value, what);
}

function hex(value: string, what: string): string {
  if (!HEX64.test(value)) fail(`${what}: SHA-256 non valido (attesi 64 caratteri esadecimali)`);
  return value.toLowerCase();
}

function date(value: string, what: string): string {
  if (!DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) fail(`${what}: data non valida (AAAA-MM-GG)`);
  return value;
}

// ---- writing helpers: SInCRO elements and attributes carry the `sincro:` prefix ----

const s = (name: string, content: XmlContent, attrs: Record<string, string | undefined> = {}) =>
  el(`sincro:${name}`, content, attrString(attrs, 'sincro:'));
/** Elements of the MoreInfo vocabularies (no namespace). */
const m = (name: string, content: XmlContent) => el(name, content);

function attrString(attrs: Record<string, string | undefined>, prefix = ''): string {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${prefix}${k}="${escapeAttr(v!)}"`)
    .join('');
}

function escapeAttr(v: string): string {
  return v.replace(/[<>&"'\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const id = (value: string, what: string) => s('ID', need(value, what), { scheme: 'local' });
const moreInfo = (schema: string, element: XmlNode | undefined): XmlNode =>
  s('MoreInfo', s('EmbeddedMetadata', element ?? fail('MoreInfo vuoto')), { xmlSchema: schema })!;

function agent(a: AgentInput, what: string, extra: Record<string, string | undefined> = {}, tag: string): XmlNode {
  for (const aid of a.agentIds ?? []) if (!AGENT_ID.test(aid)) fail(`${what}: AgentID "${aid}" non conforme (es. VATIT-00000000000)`);
  if (a.relevantDocuments.length === 0) fail(`${what}: almeno un RelevantDocument`);
  const name =
    a.type === 'legal person'
      ? s('FormalName', need(a.formalName, `${what} denominazione`))
      : s('NameAndSurname', [s('FirstName', need(a.firstName, `${what} nome`)), s('LastName', need(a.lastName, `${what} cognome`))]);
  return s(
    tag,
    [
      (a.agentIds ?? []).map((x) => s('AgentID', x)),
      s('AgentName', name),
      a.relevantDocuments.map((d, i) =>
        s('RelevantDocument', need(d.text, `${what} RelevantDocument ${i + 1}`), {
          docHash: d.sha256 === undefined ? undefined : hex(d.sha256, `${what} RelevantDocument ${i + 1}`),
          hashFunction: d.sha256 === undefined ? undefined : 'SHA-256',
          uriDoc: opt(d.uri, `${what} RelevantDocument uri`),
        }),
      ),
    ],
    { agentType: a.type, ...extra },
  )!;
}

function fileMoreInfo(f: FileInput, what: string): XmlNode {
  if (!Number.isSafeInteger(f.sizeBytes) || f.sizeBytes < 0) fail(`${what}: dimensione non valida`);
  return moreInfo(
    MOREINFO_FILE_SCHEMA,
    m('MetadatiIntegratiFile', [
      m('DimensioneFile', f.sizeBytes),
      m('SvoltoControlloCalcoloHash', true),
      m('Hash', hex(f.sha256, what)),
      m('AlgoritmoHash', 'SHA-256'),
      m('Encoding', 'hexBinary'),
      m('TipoComponente', opt(f.role, `${what} ruolo`)),
      m('NomeComponente', opt(f.name, `${what} nome`)),
      m('Mimetype', need(f.mimeType, `${what} formato`)),
      m('IDComponente', need(f.id, `${what} ID`)),
    ]),
  );
}

function file(f: FileInput, i: number, docId: string): XmlNode {
  const what = `documento ${docId}, file ${i + 1}`;
  return s(
    'File',
    [
      id(f.id, `${what} ID`),
      s('Path', encodeURI(need(f.path, `${what} percorso`))),
      s('Hash', hex(f.sha256, what), { hashFunction: 'SHA-256' }),
      f.previous &&
        s('PreviousHash', hex(f.previous.sha256, `${what} hash precedente`), {
          hashFunction: 'SHA-256',
          relatedPIndex: need(f.previous.pindexId, `${what} indice precedente`),
        }),
      fileMoreInfo(f, what),
    ],
    { encoding: 'binary', format: need(f.mimeType, `${what} formato`), extension: opt(f.extension, `${what} estensione`) },
  )!;
}

function soggetto(x: SoggettoInput, what: string): XmlNode {
  if (!(RUOLI as readonly string[]).includes(x.ruolo)) fail(`${what}: ruolo "${x.ruolo}" non previsto`);
  let body: XmlContent;
  switch (x.tipo) {
    case 'PF':
      body = [m('Nome', need(x.nome, `${what} nome`)), m('Cognome', need(x.cognome, `${what} cognome`)), m('CodiceFiscale', opt(x.codiceFiscale, what))];
      break;
    case 'PG':
      body = [m('Denominazione', need(x.denominazione, what)), m('CodiceFiscale_PartitaIva', opt(x.partitaIvaOCodiceFiscale, what))];
      break;
    case 'PAI':
      body = [
        m('IPAAmm', [m('Denominazione', need(x.denominazione, what)), m('CodiceIPA', need(x.codiceIPA, `${what} codice IPA`))]),
        m('IPAAOO', opt(x.aoo, what)),
        m('IPAUOR', opt(x.uor, what)),
      ];
      break;
    case 'PAE':
    case 'AS':
      body = m('Denominazione', need(x.denominazione, what));
      break;
    case 'SW':
      body = [m('DenominazioneSistema', need(x.nome, what)), m('Versione', opt(x.versione, what)), m('Produttore', opt(x.produttore, what))];
      break;
    default:
      fail(`${what}: tipo di soggetto non previsto`);
  }
  return m('Ruolo', [m('TipoRuolo', x.ruolo), m(x.tipo, body)])!;
}

function tipoRegistro(t: TipoRegistro, what: string): XmlNode {
  switch (t.kind) {
    case 'Nessuno':
      return m('TipoRegistro', m('Nessuno', [m('DataDocumento', date(t.dataDocumento, what)), m('NumeroDocumento', opt(t.numeroDocumento, what))]))!;
    case 'ProtocolloOrdinario_ProtocolloEmergenza':
    case 'Repertorio_Registro': {
      if (t.ora !== undefined && !TIME.test(t.ora)) fail(`${what}: ora non valida (HH:MM)`);
      if (t.kind === 'ProtocolloOrdinario_ProtocolloEmergenza' && !/^[0-9]{7,}$/.test(t.numero))
        fail(`${what}: numero di protocollo di almeno 7 cifre`);
      const num = t.kind === 'Repertorio_Registro' ? 'Numero' : 'NumeroProtocolloDocumento';
      return m(
        'TipoRegistro',
        m(t.kind, [m('Data', date(t.data, what)), m('Ora', t.ora), m(num, need(t.numero, what)), m('CodiceRegistro', need(t.codiceRegistro, what))]),
      )!;
    }
    default:
      fail(`${what}: tipo di registro non previsto`);
  }
}

/** The `DocumentoAmministrativoInformatico` element (Allegato 5) of one document. */
export function allegato5Xml(md: Allegato5Metadata, mainSha256Hex: string, docId: string): XmlNode {
  const what = `documento ${docId}`;
  const parole = md.chiaveDescrittiva.paroleChiave ?? [];
  if (parole.length > 5) fail(`${what}: al massimo 5 parole chiave`);
  const allegati = md.allegati ?? [];
  if (allegati.length > 9999) fail(`${what}: al massimo 9999 allegati`);
  if (md.soggetti.length === 0) fail(`${what}: almeno un soggetto (Soggetti/Ruolo)`);
  if (md.tempoDiConservazione !== undefined && !(Number.isInteger(md.tempoDiConservazione) && md.tempoDiConservazione >= 1 && md.tempoDiConservazione <= 9999))
    fail(`${what}: TempoDiConservazione tra 1 e 9999 anni`);
  const modalita = MODALITA_DI_FORMAZIONE[md.modalitaDiFormazione] ?? fail(`${what}: modalità di formazione non prevista`);
  if (!['E', 'U', 'I'].includes(md.datiDiRegistrazione.tipologiaDiFlusso)) fail(`${what}: TipologiaDiFlusso E, U o I`);
  const v = md.verifica;
  return m('DocumentoAmministrativoInformatico', [
    m('IdDoc', [
      m('ImprontaCrittograficaDelDocumento', [
        m('Impronta', Buffer.from(hex(mainSha256Hex, what), 'hex').toString('base64')),
        m('Algoritmo', 'SHA-256'),
      ]),
      m('Identificativo', need(md.identificativo, `${what} identificativo`)),
      m('Segnatura', opt(md.segnatura, `${what} segnatura`)),
    ]),
    m('ModalitaDiFormazione', modalita),
    m('TipologiaDocumentale', need(md.tipologiaDocumentale, `${what} tipologia documentale`)),
    m('DatiDiRegistrazione', [m('TipologiaDiFlusso', md.datiDiRegistrazione.tipologiaDiFlusso), tipoRegistro(md.datiDiRegistrazione.tipoRegistro, `${what} registrazione`)]),
    m('Soggetti', md.soggetti.map((x, i) => soggetto(x, `${what} soggetto ${i + 1}`))),
    m('ChiaveDescrittiva', [m('Oggetto', need(md.chiaveDescrittiva.oggetto, `${what} oggetto`)), parole.map((p) => m('ParoleChiave', need(p, `${what} parola chiave`)))]),
    m('Allegati', [
      m('NumeroAllegati', allegati.length),
      allegati.map((a) => m('IndiceAllegati', [m('IdDoc', m('Identificativo', need(a.idDoc, `${what} allegato`))), m('Descrizione', need(a.descrizione, `${what} allegato`))])),
    ]),
    md.classificazione &&
      m('Classificazione', [
        m('IndiceDiClassificazione', need(md.classificazione.indice, what)),
        m('Descrizione', need(md.classificazione.descrizione, what)),
        m('PianoDiClassificazione', opt(md.classificazione.piano, what)),
      ]),
    m('Riservato', md.riservato),
    m('IdentificativoDelFormato', [
      m('Formato', need(md.formato, `${what} formato`)),
      md.prodottoSoftware &&
        m('ProdottoSoftware', [
          m('Nome', need(md.prodottoSoftware.nome, what)),
          m('Versione', opt(md.prodottoSoftware.versione, what)),
          m('Produttore', opt(md.prodottoSoftware.produttore, what)),
        ]),
    ]),
    m('Verifica', [
      m('FirmatoDigitalmente', v.firmatoDigitalmente),
      m('SigillatoElettronicamente', v.sigillatoElettronicamente),
      m('MarcaturaTemporale', v.marcaturaTemporale),
      m('ConformitaCopieImmagineSuSupportoInformatico', v.conformitaCopieImmagineSuSupportoInformatico),
    ]),
    md.aggregazioni?.length
      ? m('Agg', md.aggregazioni.map((a) => m('TipoAgg', [m('TipoAggregazione', a.tipo), m('IdAggregazione', need(a.id, what))])))
      : undefined,
    m('IdIdentificativoDocumentoPrimario', opt(md.idDocumentoPrimario, what)),
    m('NomeDelDocumento', need(md.nomeDelDocumento, `${what} nome del documento`)),
    m('VersioneDelDocumento', need(md.versioneDelDocumento, `${what} versione`)),
    md.tracciatura &&
      m('TracciatureModificheDocumento', [
        m('TipoModifica', md.tracciatura.tipo),
        m('SoggettoAutoreDellaModifica', need(md.tracciatura.autore, what)),
        m('DataModifica', date(md.tracciatura.data, what)),
        m('IdDocVersionePrecedente', need(md.tracciatura.idDocVersionePrecedente, what)),
      ]),
    m('TempoDiConservazione', md.tempoDiConservazione),
    m('Note', opt(md.note, what)),
  ])!;
}

function volume(v: PIndexInput['volume'], createdAt: Date): XmlNode {
  if (v.chiave && !(Number.isInteger(v.chiave.anno) && v.chiave.anno >= 0)) fail('volume: anno della chiave non valido');
  const md = m('MetadatiIntegratiPdA', [
    m('Versatore', [
      m('Ambiente', need(v.versatore.ambiente, 'versatore ambiente')),
      m('Ente', need(v.versatore.ente, 'versatore ente')),
      m('Struttura', need(v.versatore.struttura, 'versatore struttura')),
      m('UserID', need(v.versatore.userId, 'versatore utente')),
    ]),
    v.chiave &&
      m('Chiave', [m('Numero', need(v.chiave.numero, 'chiave numero')), m('Anno', v.chiave.anno), m('Registro', need(v.chiave.registro, 'chiave registro'))]),
    m('UrnUD', opt(v.urn, 'URN')),
    m('DataAcquisizione', createdAt.toISOString()),
    m('TipologiaUnitaDocumentaria', need(v.tipologia, 'tipologia unità documentaria')),
    v.oggetto !== undefined || v.data !== undefined
      ? m('ProfiloUnitaDocumentaria', [m('Oggetto', need(v.oggetto, 'oggetto')), m('Data', date(need(v.data, 'data'), 'data'))])
      : undefined,
    m('NoteUnitaDocumentaria', opt(v.note, 'note')),
  ]);
  return s('PVolume', [
    id(v.id, 'volume ID'),
    s('Label', opt(v.label, 'volume etichetta')),
    s('Description', opt(v.description, 'volume descrizione')),
    moreInfo(MOREINFO_PVOLUME_SCHEMA, md),
  ])!;
}

/** Builds the PIndex XML (UTF-8 text with declaration). Throws {@link PIndexInputError} on bad input. */
export function buildPIndex(input: PIndexInput): string {
  if (!(input.createdAt instanceof Date) || Number.isNaN(input.createdAt.getTime())) fail('data di creazione non valida');
  if (input.documents.length === 0) fail('almeno un documento');
  if (input.holders.length === 0) fail('almeno un Holder');
  if (input.signers.length === 0) fail('almeno un AuthorizedSigner');
  const seen = new Set<string>();
  for (const d of input.documents) {
    if (d.files.length === 0) fail(`documento ${d.id}: almeno un file`);
    for (const key of [`g:${d.id}`, ...d.files.map((f) => `f:${f.id}`)]) {
      if (seen.has(key)) fail(`ID duplicato: ${key.slice(2)}`);
      seen.add(key);
    }
  }
  const app = input.application ?? DEFAULT_APPLICATION;
  const prev = input.previous;
  const body = [
    s('SelfDescription', [
      id(input.pdaId, 'ID del PdA'),
      s('CreatingApplication', [s('Name', need(app.name, 'applicazione')), s('Version', need(app.version, 'versione')), s('Producer', need(app.producer, 'produttore'))]),
      prev &&
        s(
          'PIndexSource',
          [id(prev.pindexId, 'indice precedente'), s('Path', encodeURI(need(prev.path, 'percorso indice precedente'))), s('Hash', hex(prev.sha256, 'indice precedente'), { hashFunction: 'SHA-256' })],
          { derivation: 'onetoone' },
        ),
    ]),
    volume(input.volume, input.createdAt),
    input.documents.map((d) =>
      s('FileGroup', [
        id(d.id, 'documento ID'),
        s('Label', opt(d.label, `documento ${d.id} etichetta`)),
        s('Description', opt(d.description, `documento ${d.id} descrizione`)),
        d.files.map((f, i) => file(f, i, d.id)),
        moreInfo(ALLEGATO5_SCHEMA, allegato5Xml(d.metadata, d.files[0]!.sha256, d.id)),
      ]),
    ),
    s('Process', [
      agent(input.submitter, 'Submitter', {}, 'Submitter'),
      input.holders.map((h, i) => agent(h, `Holder ${i + 1}`, { holderRole: h.role }, 'Holder')),
      input.signers.map((a, i) => agent(a, `AuthorizedSigner ${i + 1}`, { signerRole: opt(a.role, 'signerRole') }, 'AuthorizedSigner')),
      s('TimeReference', s('TimeInfo', input.createdAt.toISOString(), { attachedTimeStamp: 'false' })),
      s('LawsAndRegulations', input.lawsAndRegulations ?? DEFAULT_LAWS_AND_REGULATIONS),
    ]),
  ];
  const root = el('sincro:PIndex', body, ` xmlns:sincro="${SINCRO_NS}" sincro:language="it" sincro:uri="${SINCRO_URI}" sincro:sincroVersion="2.0"`)!;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root.xml}\n`;
}
