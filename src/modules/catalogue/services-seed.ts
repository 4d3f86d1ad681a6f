/**
 * The catalogue's starting content, seeded in every mode (the province's real offer, seed file
 * "Allegato 1 – schede tecniche", items 1–20 with 4A and 4B):
 * - the 22 services, described in our own words from the schede;
 * - the ente classes by population band (configurable afterwards at /admin/catalogo/classi);
 * - ONE demo price list (`isDemo`), so that a paid service has a price before the Province
 *   enters its deliberated tariffs. Every page that shows one of its prices says it is a demo value.
 *
 * Idempotent: rows are inserted only when missing (by service code, class code, demo list name);
 * nothing existing is ever updated, so the SAEL admin's edits survive every restart.
 *
 * Kind and billing, item by item (the seed lists everything "a listino" except the base service of
 * information and training, and marks some items free in their own text):
 * - base / free: 19 (the seed's "servizio di base" of training and information: free, two seats
 *   per ente); 20 (free Wi-Fi: "servizio gratuito di ordine informativo"); 14 (Antenna Europe
 *   Direct: "non comporta oneri aggiuntivi", but it needs its own convenzione and the Province's
 *   approval because a public desk is opened at the comune); 10 (infopoint: it only informs the
 *   enti about the SAEL itself — modulistica, seats, hours, news — so charging for it would defeat
 *   its purpose).
 * - specialistico, per unit: 1 (caselle PEC, activation or yearly upkeep of each box), 2 (kit
 *   Aruba Key: one kit per signer, certificates valid three years), 7 (one SSL certificate per
 *   domain, yearly).
 * - specialistico, one-off: 4B (a new portal is built once).
 * - specialistico, annual: every other item (3, 4, 4A, 5, 6, 8, 9, 11, 12, 13, 15, 16, 17, 18):
 *   support, upkeep and consulting that run for the year of the adesione. 6 is annual with its
 *   price by quantity bands (number of mailboxes); 8, 9, 11, 12, 13 count the interventions or
 *   hours included per year (`includedUnits`).
 */
import type { Db } from '../../db/client.js';
import { catalogueServices, enteClasses, priceLists, prices, type BillingKind, type PriceMode, type ServiceArea, type ServiceKind } from './schema.js';

/** SLA profiles of the requests opened under a service, in business minutes (7-hour days). */
export const SLA_PROFILES = {
  /** Something stops working at the comune (hardware, albo, PEC, SUAP desk): 2 hours / 2 days. */
  urgente: { tto: 120, ttr: 840 },
  /** Operational requests on hosted services: 4 hours / 3 days. */
  standard: { tto: 240, ttr: 1260 },
  /** Consulting: one day to take it in charge, one week to answer. */
  consulenza: { tto: 420, ttr: 2100 },
  /** Information: one day / two weeks. */
  informativo: { tto: 420, ttr: 4200 },
} as const;

export interface SeedService {
  code: string;
  name: string;
  kind: ServiceKind;
  area: ServiceArea;
  summary: string;
  description: string;
  included: string[];
  billing: BillingKind;
  unitLabel?: string;
  includedUnits?: number;
  requiresConvenzione: boolean;
  requiresApproval: boolean;
  sla: keyof typeof SLA_PROFILES;
  requestKinds: string[];
  periodMonths?: number;
}

const AD: ServiceArea = 'amministrazione_digitale';
const CT: ServiceArea = 'consulenza_tecnica';
const AS: ServiceArea = 'altri_servizi';

export const SEED_SERVICES: SeedService[] = [
  {
    code: '1',
    name: 'Posta elettronica certificata (partner Aruba PEC)',
    kind: 'specialistico',
    area: AD,
    summary: 'Caselle PEC per l’ente, attivate o rinnovate ogni anno tramite il S.A.E.L.',
    description:
      'Il S.A.E.L. attiva e rinnova per l’ente caselle di posta elettronica certificata, in qualità di partner Aruba PEC. Un messaggio scambiato fra due caselle certificate ha il valore legale di una raccomandata con avviso di ricevimento.\n\n' +
      'Le ricevute di accettazione e di consegna attestano, anche nei confronti di terzi, quando il messaggio è partito e quando è arrivato; la ricevuta di consegna contiene il messaggio completo, così il mittente può provarne il contenuto.\n\n' +
      'Ricordiamo che la PEC istituzionale va indicata nella home page del sito dell’ente e comunicata all’Indice delle Pubbliche Amministrazioni (www.indicepa.gov.it).',
    included: [
      'Attivazione di nuove caselle PEC o mantenimento annuale di quelle esistenti',
      'Caselle valide come domicilio digitale',
      'Protezione antivirus e antispam',
      'Accesso da webmail',
      'Conformità al DPR 11 febbraio 2005 n. 68 e al DM 2 novembre 2005',
    ],
    billing: 'per_unit',
    unitLabel: 'casella PEC',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'urgente',
    requestKinds: ['Attivazione di una nuova casella PEC', 'Problema di accesso o di invio', 'Reimpostazione della password'],
  },
  {
    code: '2',
    name: 'Aruba Key – firma digitale e CNS',
    kind: 'specialistico',
    area: AD,
    summary: 'Kit Aruba Key su chiavetta USB per firmare digitalmente e accedere ai servizi online della PA.',
    description:
      'Il kit Aruba Key è una chiavetta USB che contiene i certificati di firma digitale e di autenticazione (CNS), il lettore e il programma di firma: basta collegarla a un PC, senza installare nulla.\n\n' +
      'Il documento firmato con il kit ha lo stesso valore legale di un foglio firmato a mano: si sa chi lo ha firmato, non può essere modificato dopo la firma e l’autore non può disconoscerlo.\n\n' +
      'La CNS consente di entrare in modo sicuro nei servizi online delle pubbliche amministrazioni.',
    included: [
      'Chiavetta USB con certificati di firma e di autenticazione preinstallati',
      'Software di firma pronto all’uso, sempre aggiornato',
      'Memoria interna con funzione di backup',
      'Assistenza al primo utilizzo',
    ],
    billing: 'per_unit',
    unitLabel: 'kit di firma',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Richiesta di un nuovo kit', 'Rinnovo dei certificati', 'Problema di firma o di accesso'],
    periodMonths: 36,
  },
  {
    code: '3',
    name: 'Albo pretorio online',
    kind: 'specialistico',
    area: AD,
    summary: 'Software, manutenzione e assistenza per l’albo pretorio online dell’ente.',
    description:
      'Il S.A.E.L. mette a disposizione dell’ente il software per l’albo pretorio online, ne cura la manutenzione e assiste gli uffici che pubblicano gli atti.\n\n' +
      'Le richieste sull’albo hanno tempi di presa in carico brevi, perché dalla pubblicazione dipendono i termini degli atti.',
    included: ['Uso del software dell’albo pretorio online', 'Manutenzione e aggiornamenti', 'Assistenza agli uffici nella pubblicazione degli atti'],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'urgente',
    requestKinds: ['Supporto alla pubblicazione sull’albo pretorio', 'Malfunzionamento dell’albo pretorio', 'Abilitazione di un operatore all’albo'],
  },
  {
    code: '4',
    name: 'Sito web istituzionale',
    kind: 'specialistico',
    area: AD,
    summary: 'Hosting, aggiornamenti, sicurezza e assistenza per il sito istituzionale dell’ente.',
    description:
      'Il S.A.E.L. ospita il sito istituzionale dell’ente e lo mantiene aggiornato, sia nella piattaforma sia nel sistema che lo fa funzionare, trattando i dati secondo la normativa sulla protezione dei dati personali.\n\n' +
      'L’ente riceve le statistiche di accesso e i log per capire cosa cercano i visitatori; su richiesta il S.A.E.L. esegue interventi evolutivi e pubblica contenuti.',
    included: [
      'Hosting dell’applicazione con backup settimanale',
      'Assistenza di base e trattamento dei dati conforme al D.Lgs. 196/2003',
      'Statistiche di accesso e log di sistema',
      'Accesso al server via SSH',
      'Aggiornamenti sistemistici, applicativi e di sicurezza',
      'Manutenzione evolutiva su richiesta dell’ente',
      'Elaborazione e pubblicazione di contenuti',
    ],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Pubblicazione di un contenuto', 'Malfunzionamento del sito', 'Richiesta di intervento evolutivo'],
  },
  {
    code: '4A',
    name: 'Pacchetto sito web + trasparenza',
    kind: 'specialistico',
    area: AD,
    summary: 'Manutenzione del sito istituzionale e pubblicazioni in “Amministrazione trasparente”.',
    description:
      'Oltre alla manutenzione e all’aggiornamento del sito istituzionale, il S.A.E.L. pubblica per conto dell’ente i contenuti della sezione “Amministrazione trasparente”, come previsto dal D.Lgs. 33/2013 e secondo le indicazioni che l’ente fornisce.',
    included: [
      'Manutenzione e aggiornamento del sito istituzionale',
      'Pubblicazione dei contenuti nella sezione “Amministrazione trasparente” (D.Lgs. 33/2013)',
    ],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Pubblicazione in Amministrazione trasparente', 'Pubblicazione di un contenuto', 'Malfunzionamento del sito'],
  },
  {
    code: '4B',
    name: 'Nuovo portale internet comunale secondo le linee guida AgID',
    kind: 'specialistico',
    area: AD,
    summary: 'Progettazione e realizzazione da zero del portale del comune, conforme alle linee guida AgID.',
    description:
      'Il S.A.E.L. realizza per il comune un nuovo portale istituzionale, costruito da zero nel rispetto delle linee guida di design e di accessibilità dell’Agenzia per l’Italia Digitale.\n\n' +
      'Il servizio si paga una sola volta; la gestione del sito negli anni successivi si può richiedere con i servizi 4 o 4A.',
    included: ['Analisi dei contenuti del sito attuale', 'Realizzazione del nuovo portale conforme alle linee guida AgID', 'Messa in linea e formazione dei redattori'],
    billing: 'one_off',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'consulenza',
    requestKinds: ['Richiesta di informazioni sul progetto', 'Segnalazione sul portale realizzato'],
  },
  {
    code: '5',
    name: 'Mantenimento del dominio internet comunale',
    kind: 'specialistico',
    area: AD,
    summary: 'Rinnovo annuale e gestione tecnica del nome a dominio del comune.',
    description:
      'Il S.A.E.L. rinnova ogni anno il dominio internet del comune e ne gestisce la configurazione tecnica, così che sito e posta restino raggiungibili senza interruzioni.',
    included: ['Rinnovo annuale del dominio', 'Gestione della configurazione DNS'],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Modifica della configurazione DNS', 'Problema di raggiungibilità del dominio'],
  },
  {
    code: '6',
    name: 'Caselle di posta elettronica istituzionale e migrazione dei dati',
    kind: 'specialistico',
    area: AD,
    summary: 'Pannello di posta dedicato all’ente, caselle istituzionali e trasferimento delle vecchie caselle.',
    description:
      'Per ciascun ente il S.A.E.L. attiva un pannello di controllo della posta, collegato alla piattaforma My Mail Business, dove configura le caselle istituzionali che servono agli uffici.\n\n' +
      'Le caselle si consultano da qualunque postazione collegata a internet, con filtro antispam, regole di smistamento e rubrica dei contatti. Gli utenti ricevono supporto online per il primo accesso e per il cambio o il ripristino della password.\n\n' +
      'Se l’ente lo chiede, il S.A.E.L. trasferisce sui nuovi server i messaggi e i dati delle vecchie caselle. I nuovi server sono gestiti direttamente, e questo permette di intervenire subito in caso di guasto.',
    included: [
      'Pannello di controllo della posta dedicato all’ente',
      'Configurazione delle caselle istituzionali per gli uffici',
      'Filtro antispam e regole di posta',
      'Supporto al primo accesso e al ripristino della password',
      'Migrazione dei dati dalle vecchie caselle',
    ],
    billing: 'annual',
    unitLabel: 'casella di posta',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Nuova casella istituzionale', 'Ripristino della password', 'Migrazione di una vecchia casella'],
  },
  {
    code: '7',
    name: 'Certificati SSL (Secure Sockets Layer)',
    kind: 'specialistico',
    area: AD,
    summary: 'Fornitura e installazione dei certificati SSL per i domini del comune.',
    description:
      'Il S.A.E.L. fornisce e configura i certificati SSL dei domini comunali, perché i dati che cittadini e imprese inseriscono nei siti dell’ente viaggino cifrati e non possano essere intercettati.',
    included: ['Fornitura del certificato SSL', 'Installazione e configurazione sul dominio', 'Rinnovo annuale'],
    billing: 'per_unit',
    unitLabel: 'certificato SSL',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Installazione di un certificato', 'Certificato in scadenza o non valido'],
  },
  {
    code: '8',
    name: 'Assistenza hardware in sede e da remoto',
    kind: 'specialistico',
    area: AD,
    summary: 'Il personale della Provincia interviene sui guasti delle apparecchiature dell’ente.',
    description:
      'Quando una dotazione hardware dell’ente non funziona, il personale tecnico della Provincia interviene su richiesta: da remoto quando è possibile, altrimenti presso la sede del comune.\n\n' +
      'L’adesione comprende un numero di interventi all’anno; ogni richiesta aperta ne consuma uno.',
    included: ['Diagnosi del guasto', 'Interventi in sede presso l’ente', 'Assistenza da remoto', 'Interventi compresi nel canone annuale'],
    billing: 'annual',
    unitLabel: 'intervento',
    includedUnits: 6,
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'urgente',
    requestKinds: ['Intervento hardware in sede', 'Assistenza da remoto'],
  },
  {
    code: '9',
    name: 'Consulenza tecnica informatica polispecialistica',
    kind: 'specialistico',
    area: AD,
    summary: 'Consulenza del personale provinciale su telefonia, linee dati e reti.',
    description:
      'Il personale della Provincia di Campobasso offre consulenza tecnica in più ambiti dell’informatica, in particolare sui servizi di telefonia e sulle linee dati e sul cablaggio delle reti degli uffici.\n\n' +
      'L’adesione comprende un monte ore annuo di consulenza.',
    included: ['Consulenza su servizi di telefonia e linee dati', 'Consulenza sul cablaggio delle reti', 'Monte ore annuo di consulenza'],
    billing: 'annual',
    unitLabel: 'ora di consulenza',
    includedUnits: 10,
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'consulenza',
    requestKinds: ['Consulenza su telefonia e linee dati', 'Consulenza sul cablaggio di rete', 'Altra consulenza informatica'],
  },
  {
    code: '10',
    name: 'Comunicazione e informazione per il pubblico – Infopoint',
    kind: 'base',
    area: AD,
    summary: 'Accoglienza e informazioni sulle attività del S.A.E.L., modulistica, sedi e notizie per gli enti.',
    description:
      'L’infopoint accoglie e informa su tutto ciò che il S.A.E.L. fa, con l’obiettivo di far conoscere agli enti aderenti le opportunità a loro disposizione.\n\n' +
      'Vi si trovano la modulistica per aderire al S.A.E.L. e per chiedere i servizi specialistici, le sedi, gli orari e i contatti, le prime indicazioni sul software del SUAP e le notizie pubblicate per gli enti. L’infopoint raccoglie anche proposte e suggerimenti, a tutela dei diritti di accesso e di partecipazione.',
    included: [
      'Modulistica per l’adesione e per la richiesta dei servizi',
      'Sedi, orari, contatti e modalità di accesso ai servizi',
      'Prime informazioni sul software in uso presso gli enti aderenti al SUAP',
      'Raccolta di proposte e suggerimenti (ascolto degli utenti)',
      'Front office e infopoint',
      'Notizie e contenuti per gli enti',
    ],
    billing: 'free',
    requiresConvenzione: false,
    requiresApproval: false,
    sla: 'informativo',
    requestKinds: ['Richiesta di informazioni', 'Richiesta di modulistica'],
  },
  {
    code: '11',
    name: 'Consulenza sulla gestione giuridica ed economica del personale',
    kind: 'specialistico',
    area: CT,
    summary: 'Supporto agli uffici del personale su pensioni, fine servizio, controlli e contenzioso.',
    description:
      'Esperti della Provincia affiancano l’ufficio del personale dell’ente nelle pratiche pensionistiche, nel trattamento di fine servizio e di fine rapporto, nei controlli ispettivi, nei procedimenti disciplinari e nel contenzioso del lavoro, e nell’applicazione degli istituti giuridici.',
    included: [
      'Pratiche pensionistiche',
      'Trattamento di fine servizio e di fine rapporto',
      'Controlli ispettivi',
      'Procedimenti disciplinari e contenzioso del lavoro',
      'Applicazione degli istituti giuridici',
    ],
    billing: 'annual',
    unitLabel: 'ora di consulenza',
    includedUnits: 12,
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'consulenza',
    requestKinds: ['Quesito su pratica pensionistica', 'Quesito su fine servizio o fine rapporto', 'Quesito su procedimento disciplinare', 'Altro quesito sul personale'],
  },
  {
    code: '12',
    name: 'Consulenza su contabilità e valorizzazione del patrimonio immobiliare',
    kind: 'specialistico',
    area: CT,
    summary: 'Assistenza su bilancio, rendiconto, pagamenti e incassi, alienazione e valorizzazione degli immobili.',
    description:
      'La Provincia assiste gli uffici finanziari dell’ente, sia sul piano operativo sia con pareri, nella preparazione dei documenti contabili (bilancio, rendiconto, piano della performance, equilibri di bilancio), nella gestione di pagamenti, incassi e trattamento economico del personale, e nella vendita o valorizzazione degli immobili comunali.',
    included: [
      'Documenti di bilancio: bilancio, rendiconto, performance, equilibri',
      'Gestione di pagamenti, incassi e trattamento economico del personale',
      'Alienazione e valorizzazione del patrimonio immobiliare',
    ],
    billing: 'annual',
    unitLabel: 'ora di consulenza',
    includedUnits: 12,
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'consulenza',
    requestKinds: ['Quesito su bilancio o rendiconto', 'Quesito sul patrimonio immobiliare', 'Altro quesito contabile'],
  },
  {
    code: '13',
    name: 'Consulenza sulla gestione ambientale',
    kind: 'specialistico',
    area: CT,
    summary: 'Pareri tecnici e normativi su rifiuti, scarichi e depurazione, bonifiche, sanzioni e AUA.',
    description:
      'Il servizio aiuta gli enti aderenti nelle materie ambientali: gestione dei rifiuti e dei centri di raccolta, abbandoni, recupero in procedura semplificata, compostaggio anche di comunità, registri di carico e scarico.\n\n' +
      'Copre anche gli scarichi di acque reflue e gli impianti di depurazione (autocontrolli, fanghi, capitolati per affidare il servizio), le bonifiche dei siti inquinati, i verbali e i procedimenti sanzionatori per violazioni sui rifiuti e la compilazione delle domande di Autorizzazione Unica Ambientale.',
    included: [
      'Rifiuti: centri di raccolta, abbandoni, recupero semplificato, compostaggio, registri',
      'Scarichi di acque reflue, depurazione e fanghi; capitolati per l’affidamento',
      'Bonifiche di siti inquinati',
      'Verbali di contestazione e procedimenti sanzionatori sui rifiuti',
      'Compilazione della modulistica AUA',
    ],
    billing: 'annual',
    unitLabel: 'ora di consulenza',
    includedUnits: 12,
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'consulenza',
    requestKinds: ['Quesito sui rifiuti', 'Quesito su scarichi e depurazione', 'Quesito su bonifiche', 'Supporto alla domanda di AUA'],
  },
  {
    code: '14',
    name: 'Opportunità e finanziamenti dell’Unione europea – Antenna Europe Direct',
    kind: 'base',
    area: CT,
    summary: 'Un punto informativo “Antenna” del centro Europe Direct nel comune, senza oneri per l’ente.',
    description:
      'Il comune che aderisce apre al pubblico un’“Antenna” del centro di informazione Europe Direct, il punto informativo della Commissione europea attivo da anni presso la sede della Provincia di Campobasso.\n\n' +
      'L’apertura non costa nulla al comune, che può affidarla a personale proprio, a volontari del servizio civile, alla pro loco, a centri di aggregazione giovanile o ad altre associazioni del territorio. Il centro forma e aggiorna queste persone, fornisce materiale informativo, invia ogni giorno notizie sulle opportunità e sui bandi europei, organizza focus group e coinvolge le scuole in progetti sull’Europa.\n\n' +
      'Il centro mette in rete i referenti dei comuni e li visita periodicamente. I dettagli sono in una convenzione specifica, concordata con la Rappresentanza in Italia della Commissione europea.',
    included: [
      'Formazione iniziale e aggiornamento del personale dell’Antenna',
      'Materiale informativo',
      'Notizie quotidiane su opportunità e bandi dell’Unione europea',
      'Focus group e progetti con le scuole',
      'Rete dei referenti e visite periodiche del centro',
    ],
    billing: 'free',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'informativo',
    requestKinds: ['Richiesta di informazioni su un bando europeo', 'Richiesta di materiale informativo'],
  },
  {
    code: '15',
    name: 'OIV / Nucleo di valutazione associato',
    kind: 'specialistico',
    area: CT,
    summary: 'Nucleo di valutazione collegiale, condiviso fra gli enti aderenti.',
    description:
      'Gli enti che aderiscono si avvalgono di un Organismo indipendente di valutazione (o nucleo di valutazione) costituito in forma collegiale e associata, che svolge per loro le funzioni di valutazione previste dalla legge.',
    included: ['Funzioni di OIV / nucleo di valutazione in forma collegiale', 'Valutazione della performance secondo il calendario dell’ente'],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'consulenza',
    requestKinds: ['Richiesta di parere del nucleo', 'Calendario delle valutazioni'],
  },
  {
    code: '16',
    name: 'Sportello Unico per le Attività Produttive (SUAP)',
    kind: 'specialistico',
    area: CT,
    summary: 'SUAP associato, regolato da una convenzione e da un regolamento specifici.',
    description:
      'Il S.A.E.L. gestisce lo Sportello Unico per le Attività Produttive in forma associata per i comuni che vi aderiscono. Le regole sono fissate da una convenzione e da un regolamento dedicati.\n\n' +
      'Gli operatori del comune ricevono un supporto di primo livello sulle pratiche e sul software dello sportello.',
    included: ['Sportello SUAP associato', 'Supporto di primo livello agli operatori comunali', 'Assistenza al software del SUAP'],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'urgente',
    requestKinds: ['Supporto di primo livello SUAP', 'Problema con il software del SUAP'],
  },
  {
    code: '17',
    name: 'pagoPA e conservazione digitale a norma',
    kind: 'specialistico',
    area: AS,
    summary: 'Portale provinciale dei pagamenti pagoPA con SPID e conservazione a norma dei documenti informatici.',
    description:
      'Le pubbliche amministrazioni devono accettare i pagamenti elettronici attraverso pagoPA (art. 5 del CAD e art. 15 del D.L. 179/2012), che lascia a cittadini e imprese la scelta del prestatore, dello strumento e del canale di pagamento.\n\n' +
      'La Provincia offre agli enti un portale unico dei pagamenti per più enti, con accesso SPID, e li accompagna nell’adesione al nodo, nella scelta dei partner tecnologici, nel dialogo con i fornitori dei gestionali e nell’assistenza continuativa a regime.\n\n' +
      'La conservazione digitale a norma custodisce nel tempo i documenti informatici originali dell’ente, a sostegno della dematerializzazione.',
    included: [
      'Portale unico multi-ente dei pagamenti pagoPA con SPID',
      'Supporto alle pratiche di adesione al nodo pagoPA',
      'Supporto nella scelta dei partner tecnologici e nel dialogo con i fornitori',
      'Helpdesk e assistenza continuativa',
      'Conservazione digitale a norma dei documenti informatici',
    ],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Assistenza pagoPA', 'Assistenza sulla conservazione digitale', 'Configurazione di un nuovo servizio di pagamento'],
  },
  {
    code: '18',
    name: 'Comunicazione pubblica con social media e app',
    kind: 'specialistico',
    area: AS,
    summary: 'Cura dei canali social del comune e app degli eventi del territorio.',
    description:
      'Per comunicare direttamente con i cittadini non basta più il sito: il servizio informa i comuni sull’uso dei principali social network e cura i canali social collegati ai loro siti, sui contenuti che il comune segnala.\n\n' +
      'Comprende un’app che raccoglie gli eventi del territorio: il cittadino sceglie il proprio comune, riceve notifiche sugli eventi che gli interessano, li consulta per categorie e li aggiunge al calendario o alle mappe. Il comune vi presenta i propri eventi e servizi, con stemma e slogan.',
    included: [
      'Informazione sull’uso dei social media nella comunicazione pubblica',
      'Cura dei canali social collegati al sito del comune',
      'Pubblicazione degli eventi del comune nell’app del territorio',
      'Scheda del comune nell’app: servizi, stemma e slogan, zona',
    ],
    billing: 'annual',
    requiresConvenzione: true,
    requiresApproval: true,
    sla: 'standard',
    requestKinds: ['Pubblicazione di un evento o di una notizia', 'Aggiornamento della scheda del comune nell’app'],
  },
  {
    code: '19',
    name: 'Informazione e formazione continua su temi di interesse per la PA',
    kind: 'base',
    area: AS,
    summary: 'Giornate formative gratuite (fino a 2 partecipanti per ente) e documenti inviati ai referenti.',
    description:
      'È il servizio di base del S.A.E.L.: formazione continua per il personale degli enti sui temi dell’innovazione e della digitalizzazione, per accompagnarli nell’attuazione dell’Agenda Digitale, e su altri temi utili ai comuni.\n\n' +
      'Tra i temi: Agenda Digitale e Piano triennale per l’informatica nella PA, open data, comunicazione pubblica, Anagrafe delle prestazioni e PerlaPA, parità e pari opportunità (CUG, piani di azioni positive) con la Consigliera di parità provinciale. Intervengono esperti esterni e personale specializzato della Provincia.\n\n' +
      'Ogni ente aderente può iscrivere gratuitamente fino a due partecipanti per ogni giornata. La Provincia segue inoltre la pubblicazione di documenti utili e li invia ai referenti degli enti attraverso una mailing list.',
    included: [
      'Giornate formative gratuite, fino a 2 partecipanti per ente',
      'Corsi, seminari e workshop su temi proposti dai comuni',
      'Invio di documenti e notizie ai referenti (mailing list)',
    ],
    billing: 'free',
    requiresConvenzione: false,
    requiresApproval: false,
    sla: 'informativo',
    requestKinds: ['Proposta di un tema formativo', 'Richiesta di informazioni su una giornata formativa'],
  },
  {
    code: '20',
    name: 'Servizio free Wi-Fi',
    kind: 'base',
    area: AS,
    summary: 'Informazioni gratuite sul bando annuale della Commissione europea per il Wi-Fi pubblico.',
    description:
      'Servizio gratuito di informazione: quando la Commissione europea pubblica il bando annuale per il Wi-Fi gratuito negli spazi pubblici, il S.A.E.L. ne informa i comuni e li aiuta a capire come partecipare.',
    included: ['Avviso dell’uscita del bando annuale', 'Informazioni sui requisiti e sulle scadenze'],
    billing: 'free',
    requiresConvenzione: false,
    requiresApproval: false,
    sla: 'informativo',
    requestKinds: ['Richiesta di informazioni sul bando Wi-Fi'],
  },
];

/** Default ente classes: chosen on the 84 comuni's ISTAT populations (36 / 33 / 7 / 6 / 2 comuni). */
export const SEED_CLASSES = [
  { code: 'A', label: 'Fino a 1.000 abitanti', minPopulation: 0, maxPopulation: 1000 },
  { code: 'B', label: 'Da 1.001 a 3.000 abitanti', minPopulation: 1001, maxPopulation: 3000 },
  { code: 'C', label: 'Da 3.001 a 5.000 abitanti', minPopulation: 3001, maxPopulation: 5000 },
  { code: 'D', label: 'Da 5.001 a 15.000 abitanti', minPopulation: 5001, maxPopulation: 15000 },
  { code: 'E', label: 'Oltre 15.000 abitanti', minPopulation: 15001, maxPopulation: null },
] as const;

export const DEMO_PRICE_LIST_NAME = 'Listino dimostrativo (valori non deliberati)';
/** Far enough in the past that any clock (tests, demo) falls inside; open-ended. */
export const DEMO_PRICE_LIST_VALID_FROM = '2020-01-01';

type SeedPrice = { mode: PriceMode; amountCents?: number; bands?: { from: number; to: number | null; amountCents: number }[] };
/** Annual fixed prices per class A–E, in cents (demo values). */
const byClass = (a: number, b: number, c: number, d: number, e: number): Record<string, SeedPrice> =>
  Object.fromEntries(['A', 'B', 'C', 'D', 'E'].map((k, i) => [k, { mode: 'fixed' as const, amountCents: [a, b, c, d, e][i]! * 100 }]));

/** Demo prices: per class (fixed), a default (class null) for per-unit services, bands for item 6. */
export const DEMO_PRICES: Record<string, { classes?: Record<string, SeedPrice>; default?: SeedPrice }> = {
  '1': { default: { mode: 'per_unit', amountCents: 3500 } },
  '2': { default: { mode: 'per_unit', amountCents: 6000 } },
  '3': { classes: byClass(250, 400, 550, 700, 900) },
  '4': { classes: byClass(600, 900, 1200, 1600, 2200) },
  '4A': { classes: byClass(900, 1300, 1700, 2200, 3000) },
  '4B': { classes: byClass(2500, 3500, 4500, 6000, 8000) },
  '5': { default: { mode: 'fixed', amountCents: 3000 } },
  // Whole-quantity bands (the band holding the number of mailboxes gives the annual amount).
  '6': {
    default: {
      mode: 'bands',
      bands: [
        { from: 1, to: 10, amountCents: 15000 },
        { from: 11, to: 30, amountCents: 35000 },
        { from: 31, to: null, amountCents: 60000 },
      ],
    },
  },
  '7': { default: { mode: 'per_unit', amountCents: 4000 } },
  '8': { classes: byClass(400, 600, 800, 1100, 1500) },
  '9': { classes: byClass(500, 700, 900, 1200, 1600) },
  '11': { classes: byClass(800, 1100, 1400, 1800, 2400) },
  '12': { classes: byClass(800, 1100, 1400, 1800, 2400) },
  '13': { classes: byClass(700, 1000, 1300, 1700, 2200) },
  '15': { classes: byClass(1200, 1600, 2000, 2600, 3400) },
  '16': { classes: byClass(600, 900, 1200, 1600, 2200) },
  '17': { classes: byClass(500, 800, 1100, 1500, 2000) },
  '18': { classes: byClass(400, 600, 800, 1000, 1400) },
};

export interface SeedCatalogueOptions {
  /**
   * Seed the demo price list on a catalogue without lists (default true). Production may pass
   * false: paid services then have no price until the SAEL admin enters the deliberated listino.
   */
  demoPriceList?: boolean;
}

/** Inserts what is missing of the catalogue; never updates an existing row. */
export async function seedCatalogue(db: Db, opts: SeedCatalogueOptions = {}): Promise<void> {
  await db.transaction(async (tx) => {
        await tx.insert(catalogueServices)
                .values(
                  SEED_SERVICES.map((s, i) => ({
                    code: s.code,
                    name: s.name,
                    kind: s.kind,
                    area: s.area,
                    summary: s.summary,
                    description: s.description,
                    included: s.included.join('\n'),
                    billing: s.billing,
                    unitLabel: s.unitLabel ?? null,
                    includedUnits: s.includedUnits ?? null,
                    requiresConvenzione: s.requiresConvenzione,
                    requiresApproval: s.requiresApproval,
                    slaTtoMinutes: SLA_PROFILES[s.sla].tto,
                    slaTtrMinutes: SLA_PROFILES[s.sla].ttr,
                    requestKinds: s.requestKinds.join('\n'),
                    periodMonths: s.periodMonths ?? 12,
                    sortOrder: (i + 1) * 10,
                  })),
                )
                .onConflictDoNothing({ target: catalogueServices.code });

        // Classes only on a catalogue that has none: the admin may have renamed or re-banded them.
        const anyClass = (await tx.select({ id: enteClasses.id }).from(enteClasses).limit(1))[0];
        if (!anyClass) {
          await tx.insert(enteClasses)
                    .values(SEED_CLASSES.map((c, i) => ({ ...c, sortOrder: (i + 1) * 10 })))
                    .onConflictDoNothing({ target: enteClasses.code });
        }

        // The demo list only on a catalogue without any list: never re-created once the admin has lists.
        if (opts.demoPriceList === false) return;
        const anyList = (await tx.select({ id: priceLists.id }).from(priceLists).limit(1))[0];
        if (anyList) return;
        const list = (await tx
              .insert(priceLists)
              .values({
                name: DEMO_PRICE_LIST_NAME,
                validFrom: DEMO_PRICE_LIST_VALID_FROM,
                validTo: null,
                isDemo: true,
                notes: 'Importi dimostrativi, non deliberati dalla Provincia: sostituirli con un listino reale.',
              })
              .returning({ id: priceLists.id }))[0]!;
        const serviceIds = new Map((await tx.select({ id: catalogueServices.id, code: catalogueServices.code }).from(catalogueServices)).map((r) => [r.code, r.id]));
        const classIds = new Map((await tx.select({ id: enteClasses.id, code: enteClasses.code }).from(enteClasses)).map((r) => [r.code, r.id]));
        const rows: (typeof prices.$inferInsert)[] = [];
        for (const [code, p] of Object.entries(DEMO_PRICES)) {
          const serviceId = serviceIds.get(code);
          if (!serviceId) continue;
          const row = (enteClassId: number | null, sp: SeedPrice) => ({
            priceListId: list.id,
            serviceId,
            enteClassId,
            mode: sp.mode,
            amountCents: sp.amountCents ?? null,
            bands: sp.bands ? JSON.stringify(sp.bands) : null,
          });
          if (p.default) rows.push(row(null, p.default));
          for (const [classCode, sp] of Object.entries(p.classes ?? {})) {
            const classId = classIds.get(classCode);
            if (classId) rows.push(row(classId, sp));
          }
        }
        if (rows.length) await tx.insert(prices).values(rows);
      });
}

