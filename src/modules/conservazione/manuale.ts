/**
 * The Manuale di conservazione (issue #16 item 10; spec conservazione.md §3), generated from the
 * settings and the database so it always says what the system does: the profiles with their
 * formats, metadata and retention, who holds the roles (the sael_admin users are the responsabili
 * della conservazione), the procedures (versamento and rapporto di versamento, PdA with signature
 * and time stamp, PdD, fixity cycle, event log and anchors, scarto), the storage. One model
 * (`buildManuale`), two renderings: the public HTML page and a tagged PDF (`renderManualePdf`).
 * Sections a)–l) follow the minimum contents of the Linee Guida AgID.
 */
import { and, asc, desc, eq, isNull } from 'drizzle-orm';
import { taggedPdf } from '../../pdf/tagged-pdf.js';
import { roleGrants, users } from '../users/schema.js';
import type { ConservazioneCtx } from './context.js';
import { parseProfile } from './checks/esito.js';
import { romeDay } from './dates.js';
import { consAips, consProfiles } from './schema.js';

export type ManualeBlock =
  | { kind: 'p'; text: string }
  | { kind: 'ul'; items: string[] }
  | { kind: 'table'; caption: string; head: string[]; rows: string[][] };

export interface ManualeSection {
  id: string;
  /** a)…l) of the Linee Guida's minimum contents, or null for the introduction. */
  letter: string | null;
  title: string;
  blocks: ManualeBlock[];
}

export interface Manuale {
  title: string;
  conservatore: string;
  /** Italian day of generation (YYYY-MM-DD). */
  day: string;
  generatedAt: string;
  sections: ManualeSection[];
}

const SUBMITTER_LABELS: Record<string, string> = { system: 'piattaforma (versamento automatico)', ente: 'ente (API o back office)', sael: 'S.A.E.L.' };
const SUITABILITY_LABELS: Record<string, string> = { IDONEO: 'idoneo', GESTITO: 'gestito', DEPRECATO: 'deprecato' };
const DATE_IT = new Intl.DateTimeFormat('it-IT', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Rome' });
const p = (text: string): ManualeBlock => ({ kind: 'p', text });
const ul = (...items: string[]): ManualeBlock => ({ kind: 'ul', items });

export async function buildManuale(ctx: ConservazioneCtx): Promise<Manuale> {
  const cfg = ctx.config.conservazione;
  const now = ctx.now();
  const conservatore = `${ctx.config.provinceName} – S.A.E.L. (Servizio Assistenza Enti Locali)`;
  const profiles = (await ctx.db.select().from(consProfiles).where(eq(consProfiles.active, true)).orderBy(asc(consProfiles.name))).map(parseProfile);
  const responsabili = await ctx.db
    .select({ name: users.name, familyName: users.familyName, since: roleGrants.createdAt })
    .from(roleGrants)
    .innerJoin(users, eq(users.id, roleGrants.userId))
    .where(and(eq(roleGrants.role, 'sael_admin'), isNull(roleGrants.enteId)))
    .orderBy(asc(roleGrants.createdAt));
  const lastSigner = (await (await ctx.db.select({ s: consAips.signerSubject }).from(consAips).orderBy(desc(consAips.id)).limit(1))[0])?.s ?? null;

  const signer = cfg.signerCertFile
    ? 'la chiave e il certificato qualificato del conservatore indicati nella configurazione (CONSERVAZIONE_SIGNER_KEY_FILE, CONSERVAZIONE_SIGNER_CERT_FILE)'
    : cfg.demoKeys
      ? 'una chiave e un certificato dimostrativi generati al primo avvio (ambiente di prova: non hanno valore legale)'
      : 'nessuna chiave configurata: in questa installazione i PdA non vengono formati finché non sono indicati chiave, certificato e TSA';
  const tsa = cfg.tsaUrl ? `la TSA qualificata all’indirizzo ${cfg.tsaUrl}, con il certificato indicato in CONSERVAZIONE_TSA_CERT_FILE` : cfg.demoKeys ? 'la TSA simulata interna (ambiente di prova: marche senza valore legale)' : 'nessuna TSA configurata';
  const storage =
    cfg.store === 's3' && cfg.s3
      ? `un object storage compatibile S3 (endpoint ${cfg.s3.endpoint}, bucket ${cfg.s3.bucket}, regione ${cfg.s3.region})${cfg.s3.objectLockYears ? `, con blocco degli oggetti (object lock) per ${cfg.s3.objectLockYears} anni` : ''}`
      : 'l’archivio su file del server (una cartella per impronta sotto DATA_DIR/conservazione/store), in sola scrittura: ogni file è registrato con il nome della propria impronta SHA-256 e reso di sola lettura';

  const sections: ManualeSection[] = [
    {
      id: 'introduzione',
      letter: null,
      title: 'Scopo e ambito',
      blocks: [
        p(`Questo manuale descrive il sistema di conservazione dei documenti informatici gestito da ${conservatore} per i comuni aderenti al servizio “Conservazione digitale a norma”, secondo le Linee Guida AgID sulla formazione, gestione e conservazione dei documenti informatici (Determinazione 407/2020 e successive modifiche). È generato dalla configurazione e dai dati del sistema: ogni profilo, formato, termine e procedura qui descritto è quello effettivamente applicato alla data di generazione.`),
        p('Il sistema di conservazione è logicamente distinto dal sistema di gestione documentale degli enti e dalla piattaforma dei pagamenti che produce ricevute e flussi di rendicontazione.'),
      ],
    },
    {
      id: 'responsabili',
      letter: 'a',
      title: 'Soggetti responsabili nel tempo',
      blocks: [
        p('Il ruolo di responsabile della conservazione è attribuito agli utenti con il ruolo di amministratore del S.A.E.L. Ogni attribuzione e revoca è registrata nel registro delle operazioni (audit) della piattaforma.'),
        responsabili.length
          ? { kind: 'table', caption: 'Responsabili della conservazione in carica', head: ['Nominativo', 'In carica dal'], rows: responsabili.map((r) => [[r.name, r.familyName].filter(Boolean).join(' ') || 'utente senza nominativo', DATE_IT.format(new Date(r.since))]) }
          : p('Nessun responsabile della conservazione è attualmente designato.'),
      ],
    },
    {
      id: 'organizzazione',
      letter: 'b',
      title: 'Organizzazione, funzioni e compiti',
      blocks: [
        {
          kind: 'table',
          caption: 'Ruoli del processo di conservazione',
          head: ['Ruolo', 'Chi lo svolge', 'Compiti'],
          rows: [
            ['Titolare dell’oggetto di conservazione', 'Il comune aderente', 'Resta titolare dei documenti; ne decide il versamento e l’autorizzazione allo scarto.'],
            ['Produttore dei PdV', 'Operatori e referenti dell’ente; la piattaforma per ricevute e flussi', 'Forma e trasmette i pacchetti di versamento con i metadati richiesti.'],
            ['Utente abilitato', 'Operatori e referenti dell’ente; helpdesk del S.A.E.L.', 'Ricerca i documenti e richiede i pacchetti di distribuzione.'],
            ['Responsabile della conservazione', 'Amministratori del S.A.E.L. (sezione a)', 'Definisce i profili, sorveglia verifiche e allarmi, propone ed esegue lo scarto, aggiorna questo manuale.'],
            ['Conservatore', conservatore, 'Gestisce il sistema, firma e marca i pacchetti di archiviazione, custodisce i file.'],
          ],
        },
      ],
    },
    {
      id: 'oggetti',
      letter: 'c',
      title: 'Oggetti conservati, formati e metadati',
      blocks: [
        p('Ogni tipologia documentale ha un profilo che stabilisce i formati ammessi (riconosciuti dal contenuto del file, non dall’estensione), i metadati obbligatori (nomi dell’Allegato 5 alle Linee Guida), il tempo di conservazione e chi può versare.'),
        profiles.length
          ? {
              kind: 'table',
              caption: `Profili di conservazione attivi (${profiles.length})`,
              head: ['Profilo', 'Tipologia documentale', 'Formati ammessi', 'Metadati obbligatori', 'Conservazione', 'Versano'],
              rows: profiles.map((pr) => [
                `${pr.name} (${pr.code})${pr.signatureRequired ? ' – firma digitale obbligatoria' : ''}`,
                pr.tipologiaDocumentale,
                pr.formats.map((f) => `${f.label} (${SUITABILITY_LABELS[f.suitability] ?? f.suitability})`).join(', ') || '—',
                pr.requiredMetadata.join(', ') || '—',
                pr.retentionYears === null ? 'illimitata' : `${pr.retentionYears} anni`,
                pr.submitters.map((s) => SUBMITTER_LABELS[s] ?? s).join(', '),
              ]),
            }
          : p('Nessun profilo di conservazione è attivo.'),
        p('Metadati minimi di ogni documento: Identificativo, TipologiaDocumentale, ModalitaDiFormazione, Oggetto, DataDocumento; facoltativi NumeroDocumento, TipologiaDiFlusso, Soggetti, ParoleChiave, Riservato, TempoDiConservazione, IUV, Classificazione, Note. L’impronta SHA-256 di ogni file è ricalcolata dal sistema.'),
      ],
    },
    {
      id: 'versamento',
      letter: 'd',
      title: 'Presa in carico dei pacchetti di versamento e rapporto di versamento',
      blocks: [
        p('Un pacchetto di versamento (PdV) contiene i file di un documento (principale, allegati, annessi) e i suoi metadati. Arriva per tre vie:'),
        ul(
          'dall’interfaccia REST della piattaforma (POST /api/v1/conservazione/pdv, con la chiave API dell’ente);',
          'dal back office dell’ente, caricando i file nel modulo di versamento;',
          `automaticamente, ogni giorno dopo le ore ${cfg.dailyHour}:00, per le ricevute di pagamento pagoPA e i flussi di rendicontazione del giorno precedente degli enti con il servizio attivo.`,
        ),
        p('Ogni PdV è verificato: impronta SHA-256 ricalcolata e confrontata con quella dichiarata, formato identificato dal contenuto e confrontato con il profilo, metadati obbligatori presenti e validi, firme digitali (CAdES e PAdES) verificate quando presenti o richieste. L’esito riporta un codice e un messaggio per ogni controllo. I PdV rifiutati sono conservati con il loro esito; al terzo rifiuto dello stesso oggetto si apre una segnalazione all’helpdesk.'),
        p('Per ogni PdV accettato il sistema genera il rapporto di versamento: identificativo univoco (URN), riferimento temporale UTC, impronta del pacchetto e del suo indice, elenco dei componenti accettati. Il rapporto è registrato in modo immodificabile nella stessa transazione del PdV, con la sua impronta riportata nel registro degli eventi; è restituito al versante e scaricabile.'),
      ],
    },
    {
      id: 'archiviazione',
      letter: 'e',
      title: 'Processo di conservazione e pacchetti di archiviazione',
      blocks: [
        p('I documenti accettati di un ente e di un profilo sono raccolti in pacchetti di archiviazione (PdA). L’indice di ogni PdA segue lo standard UNI 11386 SInCRO versione 2 ed è validato contro lo schema ufficiale; riporta per ogni file l’impronta SHA-256 e, per ogni documento, i metadati dell’Allegato 5.'),
        p(`L’indice è sottoscritto con firma CAdES detached con ${signer}${lastSigner ? ` (ultimo firmatario: ${lastSigner})` : ''}, e marcato temporalmente (RFC 3161) con ${tsa}.`),
        p('Una modifica dei metadati produce una nuova versione del PdA, collegata alla precedente (PIndexSource e PreviousHash); la versione precedente resta conservata.'),
      ],
    },
    {
      id: 'distribuzione',
      letter: 'f',
      title: 'Esibizione e pacchetti di distribuzione',
      blocks: [
        p('Gli utenti dell’ente e l’helpdesk del S.A.E.L. cercano i documenti per ente, tipologia, date, IUV, oggetto o URN e scaricano il pacchetto di distribuzione (PdD): un archivio ZIP con i file, l’indice del PdA, la firma, la marca temporale, i rapporti di versamento e una nota descrittiva. Ogni consultazione e ogni download è registrato nel registro degli eventi.'),
      ],
    },
    {
      id: 'sistema',
      letter: 'g',
      title: 'Descrizione del sistema di conservazione',
      blocks: [
        ul(
          'Applicazione: la piattaforma sael-pay (Node.js), un unico servizio per tutti gli enti, con interfacce web (Bootstrap Italia) e REST.',
          `Base dati: ${ctx.config.databaseUrl ? 'PostgreSQL (un server condiviso da tutti i processi della piattaforma)' : 'SQLite (un file sul server)'}, con il catalogo dei profili, dei PdV, dei rapporti di versamento, dei PdA, dei file e delle verifiche; le tabelle dei rapporti, del registro degli eventi e delle ancore rifiutano modifiche e cancellazioni.`,
          `Archivio dei file: ${storage}. Lo stesso contenuto è memorizzato una sola volta; non esiste alcuna funzione di modifica e l’unica cancellazione è quella dello scarto.`,
          `Firma e marca temporale: ${signer}; ${tsa}.`,
        ),
        p('Le evoluzioni del sistema sono rilasciate come nuove versioni dell’applicazione; questo manuale, generato dal sistema, ne riflette la configurazione corrente.'),
      ],
    },
    {
      id: 'monitoraggio',
      letter: 'h',
      title: 'Monitoraggio e controlli di integrità',
      blocks: [
        ul(
          `Verifica periodica di integrità: ogni file conservato è riletto e la sua impronta ricalcolata almeno una volta ogni ${cfg.auditCycleDays} giorni (la norma chiede almeno ogni cinque anni); la verifica procede a blocchi e riprende da dove si è fermata.`,
          'Registro degli eventi: ogni evento di conservazione (versamento, rifiuto, rapporto, PdA, verifica, accesso, esportazione, scarto) è una riga concatenata alla precedente tramite impronta SHA-256; una riga modificata o cancellata interrompe la catena.',
          'Ancoraggio giornaliero: una volta al giorno l’impronta dell’ultimo evento è marcata temporalmente dalla TSA, così che nemmeno una riscrittura completa del registro passi inosservata.',
          'Verifica complessiva: il comando “conservazione:verify” ricontrolla file, catena, ancore, firme e marche di tutti i PdA e i rapporti di versamento (confrontati con la loro impronta e con il registro degli eventi) e segnala ogni anomalia.',
        ),
        p('Un’anomalia (file alterato o mancante, marca non ottenuta, versamento automatico non riuscito) apre un allarme per il responsabile della conservazione e una segnalazione all’helpdesk; il responsabile ne registra la presa in carico. In caso di file alterato si ripristina la copia da backup e se ne verifica l’impronta.'),
      ],
    },
    {
      id: 'copie',
      letter: 'i',
      title: 'Duplicati e copie',
      blocks: [
        p('Il pacchetto di distribuzione è un duplicato informatico dei documenti conservati: i file sono identici, bit per bit, a quelli versati (ne fa fede l’impronta). Le copie di sicurezza dell’archivio e della base dati seguono il piano di backup del S.A.E.L.; il riversamento in altri formati, quando un formato diventa obsoleto, è una procedura straordinaria decisa dal responsabile della conservazione e documentata con una nuova versione del PdA.'),
      ],
    },
    {
      id: 'termini',
      letter: 'j',
      title: 'Termini di versamento e di scarto',
      blocks: [
        p(`Le ricevute e i flussi della piattaforma sono versati automaticamente il giorno successivo (dopo le ore ${cfg.dailyHour}:00). Gli altri documenti sono versati dall’ente, e comunque almeno una volta l’anno come richiede l’art. 44, comma 1-bis, del CAD.`),
        p('Il tempo di conservazione di ogni tipologia è quello del profilo (sezione c); il termine di un PdA decorre dalla data più recente dei suoi documenti. Alla scadenza il responsabile della conservazione propone l’elenco di scarto, vi registra gli estremi del nulla osta della Soprintendenza archivistica (o dell’atto autorizzativo) e solo allora esegue lo scarto: i file vengono distrutti, tranne quelli ancora usati da altri pacchetti, e l’elenco con i suoi dati resta conservato per sempre.'),
      ],
    },
    {
      id: 'pubblico-ufficiale',
      letter: 'k',
      title: 'Intervento del pubblico ufficiale',
      blocks: [
        p('Il processo ordinario non richiede un pubblico ufficiale. È richiesto nei casi previsti dalla legge, in particolare per attestare la conformità all’originale di copie di documenti analogici originali unici e nel riversamento quando la conformità non è garantita dalle impronte; il responsabile della conservazione ne cura l’intervento e lo documenta nel PdA.'),
      ],
    },
    {
      id: 'normativa',
      letter: 'l',
      title: 'Normativa e luogo di conservazione',
      blocks: [
        ul(
          'Codice dell’amministrazione digitale (D.Lgs. 82/2005), in particolare gli articoli 43 e 44.',
          'Linee Guida AgID sulla formazione, gestione e conservazione dei documenti informatici (Determinazioni 407/2020 e 371/2021) e i loro allegati, fra cui l’Allegato 2 (formati), l’Allegato 4 (standard, UNI 11386 SInCRO) e l’Allegato 5 (metadati).',
          'Codice dei beni culturali (D.Lgs. 42/2004), art. 21, per l’autorizzazione allo scarto.',
          'Regolamento (UE) 2016/679 e D.Lgs. 196/2003 per la protezione dei dati personali; Regolamento (UE) 910/2014 (eIDAS) per firme e marche temporali.',
        ),
        p('I file e le loro copie di sicurezza sono conservati nel territorio nazionale, nei sistemi indicati nella sezione g.'),
      ],
    },
  ];
  return { title: 'Manuale di conservazione', conservatore, day: romeDay(now), generatedAt: now.toISOString(), sections };
}

/** The manuale as a tagged PDF (A4, it-IT), headings H1/H2 and one paragraph per table row. */
export async function renderManualePdf(m: Manuale): Promise<Buffer> {
  const { doc, done, root, add } = await taggedPdf({ Title: `${m.title} – ${m.conservatore}`, Author: m.conservatore, Subject: 'Manuale di conservazione dei documenti informatici', CreationDate: new Date(m.generatedAt) }, 56);
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;
  const left = doc.page.margins.left;
  doc.fillColor('#17324d');
  add('H1', () => doc.font('Helvetica-Bold').fontSize(22).text(m.title, left, doc.y, { width }));
  add('P', () => doc.font('Helvetica').fontSize(11).text(m.conservatore, { width }));
  add('P', () => doc.font('Helvetica').fontSize(9).fillColor('#5c6f82').text(`Generato dal sistema di conservazione il ${DATE_IT.format(new Date(m.generatedAt))}.`, { width }));
  doc.fillColor('black');
  for (const s of m.sections) {
    doc.moveDown(1);
    add('H2', () => doc.font('Helvetica-Bold').fontSize(14).fillColor('#0066cc').text(`${s.letter ? `${s.letter}) ` : ''}${s.title}`, left, doc.y, { width }));
    doc.fillColor('black').moveDown(0.3);
    for (const b of s.blocks) {
      if (b.kind === 'p') add('P', () => doc.font('Helvetica').fontSize(10).text(b.text, left, doc.y, { width, align: 'left' }));
      else if (b.kind === 'ul') for (const item of b.items) add('P', () => doc.font('Helvetica').fontSize(10).text(`•  ${item}`, left + 10, doc.y, { width: width - 10 }));
      else {
        add('P', () => doc.font('Helvetica-Bold').fontSize(10).text(b.caption, left, doc.y, { width }));
        for (const row of b.rows) {
          add('P', () => {
            doc.font('Helvetica-Bold').fontSize(9).text(`${row[0]}`, left + 10, doc.y, { width: width - 10 });
            doc.font('Helvetica').fontSize(9).text(row.slice(1).map((cell, i) => `${b.head[i + 1]}: ${cell}`).join(' – '), left + 10, doc.y, { width: width - 10 });
          });
          doc.moveDown(0.3);
        }
      }
      doc.moveDown(0.4);
    }
  }
  root.end();
  doc.end();
  return done;
}
