/**
 * Demo content of the events module (demo mode only, idempotent): the demo zones for the 84
 * comuni, 42 events across the six member comuni and the 8 categories placed around the day the
 * server starts (past, today, this weekend, the next weeks; one weekly, several lasting days, one
 * cancelled, four featured on the province's home), each with a picture generated from an SVG by
 * sharp (no binary file in git) and stored through the same path as an upload (WebP variants),
 * and news of the SAEL and of every member comune. Everything is flagged `is_demo`.
 *
 * Events go through the events repository (createEvent, changeEventStatus, setEventFeatured), so
 * occurrences, audit and image variants are exactly those of a real publication. The alerts of
 * these publications are marked as already queued: nobody is notified of demo content.
 */
import { and, count, eq, inArray } from 'drizzle-orm';
import { addDays } from '../../domain/iso-date.js';
import { romeDay } from '../conservazione/dates.js';
import { enti } from '../enti/schema.js';
import type { EventsCtx } from './context.js';
import { loadSharp, storeEventImage, type StoredImage } from './images.js';
import { createNews } from './news-repository.js';
import { romeInstant } from './occurrences.js';
import { changeEventStatus, createEvent, setEventFeatured, type EventsActor } from './repository.js';
import { eventCategories, events, publicNews } from './schema.js';
import type { EventInput } from './validation.js';
import { seedDemoZones } from './zones.js';

const ACTOR: EventsActor = { actor: 'system:demo-seed', userId: null };

/** Where a member comune's demo events take place (approximate centre of the town). */
const TOWNS: Record<string, { lat: number; lon: number; cap: string; town: string }> = {
  '070006': { lat: 41.5603, lon: 14.6627, cap: '86100', town: 'Campobasso' },
  '070078': { lat: 42.003, lon: 14.995, cap: '86039', town: 'Termoli' },
  '070003': { lat: 41.484, lon: 14.472, cap: '86021', town: 'Bojano' },
  '070031': { lat: 41.805, lon: 14.91, cap: '86035', town: 'Larino' },
  '070057': { lat: 41.484, lon: 14.839, cap: '86016', town: 'Riccia' },
  '070081': { lat: 41.783, lon: 14.551, cap: '86029', town: 'Trivento' },
};

/**
 * When a demo event happens, relative to the day of seeding: `day` is an offset in days, or
 * 'sat'/'sun' for this weekend; `days` > 1 spans several days; `until` makes it weekly for that
 * many weeks. Times are Rome wall-clock; no times = all day.
 */
interface DemoEvent {
  istat: string;
  cat: string;
  title: string;
  summary: string;
  body: string;
  place: string;
  address: string;
  day: number | 'sat' | 'sun';
  from?: string;
  to?: string;
  days?: number;
  weeks?: number;
  priceCents?: number;
  priceNote?: string;
  organiser?: string;
  featured?: boolean;
  cancel?: string;
}

export const DEMO_EVENTS: DemoEvent[] = [
  // Campobasso
  { istat: '070006', cat: 'mostre', title: 'Il Molise in cento fotografie', summary: 'Un secolo di vita nei comuni della provincia attraverso gli archivi fotografici delle famiglie.', body: 'La mostra raccoglie cento fotografie scattate fra il 1920 e il 2020 e prestate dalle famiglie della provincia.\n\nIngresso libero negli orari di apertura; visite guidate per le scuole su prenotazione.', place: 'Ex GIL', address: 'Via Milano 15', day: -5, days: 31, organiser: 'Comune di Campobasso – Assessorato alla cultura', featured: true },
  { istat: '070006', cat: 'spettacoli-concerti', title: 'Concerto dell’Orchestra giovanile del Molise', summary: 'Musiche di Rossini, Verdi e Morricone eseguite da sessanta giovani musicisti.', body: 'L’orchestra, formata da studenti dei conservatori e delle scuole di musica della regione, presenta il suo programma d’inverno.', place: 'Teatro Savoia', address: 'Piazza Gabriele Pepe', day: 'sat', from: '21:00', to: '23:00', priceCents: 1000, priceNote: 'Ridotto 5 € fino a 18 anni', organiser: 'Associazione Orchestra giovanile del Molise', featured: true },
  { istat: '070006', cat: 'sagre-enogastronomia', title: 'Mercato dei sapori molisani', summary: 'Produttori della provincia in piazza con formaggi, salumi, olio e vino.', body: 'Trenta banchi di produttori locali, degustazioni guidate e un laboratorio sulla pasta fatta in casa.', place: 'Piazza Vittorio Emanuele II', address: 'Piazza Vittorio Emanuele II', day: 'sun', from: '09:00', to: '19:00' },
  { istat: '070006', cat: 'sport', title: 'Campobasso Run – 10 km', summary: 'Corsa competitiva e passeggiata non competitiva nel centro della città.', body: 'Partenza e arrivo in Piazza Municipio. Iscrizioni online fino al giovedì precedente; pettorali ritirabili la mattina della gara.', place: 'Piazza Municipio', address: 'Piazza Municipio', day: 14, from: '09:30', to: '12:30', priceCents: 1500, priceNote: 'Passeggiata non competitiva gratuita', organiser: 'ASD Podistica Campobasso' },
  { istat: '070006', cat: 'cultura-tradizioni', title: 'I Misteri di Di Zinno: visita al museo', summary: 'Ogni sabato mattina una visita guidata alle macchine dei Misteri e alla loro storia.', body: 'Le guide del museo raccontano come nascono e come vengono portati in processione gli «ingegni» settecenteschi di Paolo Saverio Di Zinno.', place: 'Museo dei Misteri', address: 'Via Trento 2', day: 'sat', from: '10:30', to: '12:00', weeks: 8 },
  { istat: '070006', cat: 'incontri-convegni', title: 'Presentazione del libro «Sui tratturi»', summary: 'L’autore dialoga con lo storico della transumanza molisana.', body: 'Un viaggio a piedi lungo il tratturo Castel di Sangro–Lucera raccontato dall’autore, con letture e immagini.', place: 'Biblioteca provinciale «Pasquale Albino»', address: 'Via Roma 47', day: 3, from: '17:30', to: '19:00' },
  { istat: '070006', cat: 'per-bambini', title: 'Letture ad alta voce in biblioteca', summary: 'Storie e filastrocche per bambini dai 3 ai 7 anni, con i volontari di «Nati per leggere».', body: 'Non serve prenotare: i bambini vanno accompagnati da un adulto.', place: 'Biblioteca comunale', address: 'Piazza Municipio 1', day: 0, from: '16:30', to: '17:30' },
  { istat: '070006', cat: 'natura-escursioni', title: 'Passeggiata a Monte Vairano', summary: 'Escursione facile fra i boschi e le mura sannitiche di Monte Vairano.', body: 'Percorso ad anello di 7 km, dislivello 250 m. Scarpe da trekking e acqua; in caso di pioggia l’escursione è rinviata.', place: 'Parcheggio di Monte Vairano', address: 'Contrada Monte Vairano', day: 9, from: '09:00', to: '13:00', organiser: 'CAI – Sezione di Campobasso' },
  { istat: '070006', cat: 'spettacoli-concerti', title: 'Cinema in piazza: «Nuovo Cinema Paradiso»', summary: 'Proiezione all’aperto del film di Giuseppe Tornatore.', body: 'Portate una sedia pieghevole: i posti a sedere sono limitati.', place: 'Villa de Capoa', address: 'Via Marconi', day: -8, from: '21:00', to: '23:15' },
  { istat: '070006', cat: 'incontri-convegni', title: 'Assemblea pubblica sul bilancio partecipativo', summary: 'Le proposte dei quartieri per il bilancio comunale del prossimo anno.', body: 'Ogni quartiere presenta le sue proposte; l’assemblea sceglie quelle da finanziare.', place: 'Sala consiliare', address: 'Piazza Vittorio Emanuele II 29', day: 6, from: '18:00', to: '20:00', cancel: 'Rinviata per indisponibilità della sala: la nuova data sarà comunicata a breve.' },
  // Termoli
  { istat: '070078', cat: 'sagre-enogastronomia', title: 'Sagra del pesce del porto', summary: 'Due giorni di frittura di paranza, musica e mercatino sul porto.', body: 'I pescatori di Termoli cucinano il pescato del giorno; il ricavato sostiene la cooperativa dei pescatori.', place: 'Porto di Termoli', address: 'Molo nord', day: 'sat', from: '18:00', to: '23:30', days: 2, featured: true },
  { istat: '070078', cat: 'mostre', title: 'Arte contemporanea al Castello Svevo', summary: 'Dieci artisti molisani reinterpretano gli spazi del castello.', body: 'Installazioni, pittura e video negli ambienti restaurati del Castello Svevo.', place: 'Castello Svevo', address: 'Piazza Duomo', day: 12, days: 29, priceCents: 500, priceNote: 'Gratuito per i residenti', organiser: 'Comune di Termoli' },
  { istat: '070078', cat: 'spettacoli-concerti', title: 'Jazz sul lungomare', summary: 'Quartetto jazz dal vivo al tramonto sul lungomare nord.', body: 'Concerto all’aperto; in caso di maltempo si terrà nell’auditorium comunale.', place: 'Lungomare Cristoforo Colombo', address: 'Lungomare Cristoforo Colombo', day: 16, from: '21:30', to: '23:30' },
  { istat: '070078', cat: 'sport', title: 'Regata velica del Basso Adriatico', summary: 'Imbarcazioni da tutta la costa adriatica in gara davanti a Termoli.', body: 'Partenza alle 10 dal porto turistico; la premiazione si tiene al circolo velico.', place: 'Porto turistico Marina di San Pietro', address: 'Via del Porto', day: 20, organiser: 'Circolo della vela Termoli' },
  { istat: '070078', cat: 'natura-escursioni', title: 'In kayak alla foce del Biferno', summary: 'Escursione guidata in kayak fra dune e canneti alla foce del fiume.', body: 'Adatta a principianti; kayak, pagaie e giubbotti sono forniti dall’organizzazione. Prenotazione obbligatoria.', place: 'Lido La Foce', address: 'Via Mare', day: 'sun', from: '09:00', to: '12:00', priceCents: 2500, organiser: 'Molise Outdoor' },
  { istat: '070078', cat: 'per-bambini', title: 'Laboratorio di aquiloni in spiaggia', summary: 'Costruiamo e facciamo volare un aquilone: per bambini dai 6 ai 12 anni.', body: 'Materiali forniti; i bambini vanno accompagnati.', place: 'Spiaggia di Sant’Antonio', address: 'Lungomare nord', day: 4, from: '15:00', to: '17:00' },
  { istat: '070078', cat: 'cultura-tradizioni', title: 'Visita guidata al borgo antico', summary: 'Il borgo, la cattedrale e il vicolo più stretto d’Italia con una guida turistica.', body: 'Ritrovo davanti al Castello Svevo; durata un’ora e mezza.', place: 'Borgo antico', address: 'Piazza Duomo', day: 0, from: '17:00', to: '18:30', priceCents: 500 },
  { istat: '070078', cat: 'incontri-convegni', title: 'Convegno «Il mare e la costa molisana»', summary: 'Erosione, turismo e pesca: amministratori e ricercatori a confronto.', body: 'Interventi dell’Università del Molise e dei comuni costieri.', place: 'Auditorium comunale', address: 'Via Elba', day: -12, from: '09:30', to: '13:00' },
  { istat: '070078', cat: 'spettacoli-concerti', title: 'Teatro: «La locandiera» di Goldoni', summary: 'La compagnia del teatro stabile del Molise porta in scena il classico goldoniano.', body: 'Durata due ore con intervallo.', place: 'Cinema Teatro Sant’Antonio', address: 'Corso Umberto I', day: 27, from: '21:00', to: '23:00', priceCents: 1500 },
  // Bojano
  { istat: '070003', cat: 'natura-escursioni', title: 'Trekking alle sorgenti del Biferno', summary: 'Camminata guidata dalle sorgenti del Biferno alla Civita di Bojano.', body: 'Percorso di 9 km, dislivello 400 m, difficoltà media. Pranzo al sacco.', place: 'Sorgenti del Biferno', address: 'Località Pietrecadute', day: 'sat', from: '09:00', to: '13:00', organiser: 'Pro Loco Bojano', featured: true },
  { istat: '070003', cat: 'sagre-enogastronomia', title: 'Festa della mozzarella di Bojano', summary: 'Caseifici aperti, degustazioni e lavorazione dal vivo della pasta filata.', body: 'I casari mostrano come nasce la mozzarella; nel pomeriggio, musica popolare in piazza.', place: 'Piazza Roma', address: 'Piazza Roma', day: 13, from: '10:00', to: '22:00', days: 2 },
  { istat: '070003', cat: 'cultura-tradizioni', title: 'Bovianum: rievocazione sannita', summary: 'Accampamenti, duelli e mestieri antichi nella città dei Sanniti Pentri.', body: 'Gruppi storici da tutto il centro-sud ricostruiscono la vita di Bovianum.', place: 'Civita di Bojano', address: 'Civita Superiore', day: 30, from: '17:00', to: '22:00' },
  { istat: '070003', cat: 'per-bambini', title: 'Caccia al tesoro nel centro storico', summary: 'Squadre di famiglie alla scoperta dei segreti di Bojano.', body: 'Iscrizioni sul posto dalle 9:30.', place: 'Piazza Roma', address: 'Piazza Roma', day: 7, from: '10:00', to: '12:30' },
  { istat: '070003', cat: 'sport', title: 'Gran fondo ciclistica del Matese', summary: 'Percorsi da 60 e 120 km sulle strade del Matese.', body: 'Ristori lungo il percorso; assistenza meccanica e sanitaria.', place: 'Piazza Roma', address: 'Piazza Roma', day: 35, from: '08:00', to: '14:00', priceCents: 3000, organiser: 'ASD Ciclisti del Matese' },
  { istat: '070003', cat: 'mostre', title: 'Colori del Matese', summary: 'Paesaggi del Matese nelle opere di pittori locali.', body: 'Mostra collettiva in sala consiliare.', place: 'Sala consiliare', address: 'Piazza Municipio', day: -30, days: 21 },
  // Larino
  { istat: '070031', cat: 'cultura-tradizioni', title: 'Visita guidata all’anfiteatro romano', summary: 'L’anfiteatro di Larinum e i mosaici della città romana.', body: 'Visita con l’archeologo; ritrovo all’ingresso dell’area archeologica.', place: 'Anfiteatro romano', address: 'Viale Giulio Cesare', day: 2, from: '10:00', to: '12:00' },
  { istat: '070031', cat: 'mostre', title: 'Larinum: la città romana', summary: 'Reperti, mosaici e ricostruzioni della Larino romana.', body: 'Allestita nelle sale del Palazzo Ducale, con percorsi tattili.', place: 'Palazzo Ducale', address: 'Piazza del Duomo', day: 1, days: 45, priceCents: 300 },
  { istat: '070031', cat: 'sagre-enogastronomia', title: 'Festa dell’olio nuovo', summary: 'Frantoi aperti e bruschette con l’olio extravergine appena franto.', body: 'Degustazioni guidate dai frantoiani di Larino.', place: 'Centro storico', address: 'Corso Umberto I', day: 22, from: '16:00', to: '22:00' },
  { istat: '070031', cat: 'spettacoli-concerti', title: 'Canti arbëreshë e croato-molisani', summary: 'Le comunità di minoranza linguistica del Basso Molise in concerto.', body: 'Cori di Ururi, Portocannone, Montecilfone e Acquaviva Collecroce.', place: 'Cattedrale di San Pardo', address: 'Piazza del Duomo', day: 'sat', from: '20:30', to: '22:00' },
  { istat: '070031', cat: 'incontri-convegni', title: 'Prevenzione e salute: incontro con i medici', summary: 'I medici di base rispondono alle domande dei cittadini.', body: 'Ingresso libero.', place: 'Sala convegni del Palazzo Ducale', address: 'Piazza del Duomo', day: 5, from: '17:00', to: '19:00' },
  { istat: '070031', cat: 'per-bambini', title: 'Spettacolo di burattini', summary: 'Pulcinella e i burattini della tradizione per bambini di ogni età.', body: 'All’aperto nella villa comunale.', place: 'Villa comunale', address: 'Viale Giulio Cesare', day: -2, from: '17:00', to: '18:00' },
  // Riccia
  { istat: '070057', cat: 'sagre-enogastronomia', title: 'Sagra dell’uva di Riccia', summary: 'Carri allegorici, uva e vino novello nella festa più famosa del Fortore.', body: 'Sfilata dei carri addobbati con l’uva nel pomeriggio della domenica; stand gastronomici entrambe le sere.', place: 'Centro di Riccia', address: 'Corso Carlo Alberto', day: 18, days: 2, featured: false },
  { istat: '070057', cat: 'cultura-tradizioni', title: 'Processione della Madonna del Carmine', summary: 'La processione per le vie del paese con la banda musicale.', body: 'Partenza dalla chiesa madre alle 18.', place: 'Chiesa di Santa Maria delle Grazie', address: 'Piazza Sedati', day: 25, from: '18:00', to: '20:30' },
  { istat: '070057', cat: 'natura-escursioni', title: 'Escursione nel bosco Mazzocca', summary: 'Fra cerri e faggi del bosco Mazzocca, con il corpo forestale.', body: 'Percorso facile di 6 km.', place: 'Bosco Mazzocca', address: 'Contrada Mazzocca', day: 11, from: '09:30', to: '13:00' },
  { istat: '070057', cat: 'sport', title: 'Torneo di calcio a 5 del Fortore', summary: 'Squadre giovanili dei comuni del Fortore in un pomeriggio di sport.', body: 'Premiazione alle 19.', place: 'Palazzetto dello sport', address: 'Via Zaccardi', day: 'sun', from: '15:00', to: '19:00' },
  { istat: '070057', cat: 'incontri-convegni', title: 'Presentazione del progetto «Fortore digitale»', summary: 'Servizi online e pagamenti pagoPA per i cittadini dei piccoli comuni.', body: 'Il comune presenta i servizi disponibili sul portale provinciale e risponde alle domande.', place: 'Sala consiliare', address: 'Piazza Sedati', day: 0, from: '18:00', to: '19:30' },
  // Trivento
  { istat: '070081', cat: 'cultura-tradizioni', title: 'Visita alla cripta di San Casto', summary: 'La cripta romanica sotto la cattedrale dei Santi Nazario, Celso e Vittore.', body: 'Visita guidata gratuita; ingresso dalla scalinata della cattedrale.', place: 'Cattedrale di Trivento', address: 'Piazza Cattedrale', day: 6, from: '11:00', to: '12:00' },
  { istat: '070081', cat: 'spettacoli-concerti', title: 'Coro polifonico in cattedrale', summary: 'Musica sacra dal Rinascimento a oggi.', body: 'Ingresso libero fino a esaurimento dei posti.', place: 'Cattedrale di Trivento', address: 'Piazza Cattedrale', day: 15, from: '19:00', to: '20:30' },
  { istat: '070081', cat: 'natura-escursioni', title: 'Camminata lungo il Trigno', summary: 'Una mattina sul sentiero del fiume Trigno.', body: 'Percorso pianeggiante di 8 km; adatto a tutti.', place: 'Ponte sul Trigno', address: 'Strada statale 650', day: 'sun', from: '09:00', to: '12:30' },
  { istat: '070081', cat: 'per-bambini', title: 'Laboratorio di ceramica per ragazzi', summary: 'Modellare l’argilla con i maestri ceramisti: dagli 8 ai 14 anni.', body: 'Posti limitati, prenotazione in comune.', place: 'Centro culturale', address: 'Corso Roma', day: 10, from: '16:00', to: '18:00' },
  { istat: '070081', cat: 'sagre-enogastronomia', title: 'Sagra dei cavatelli', summary: 'Cavatelli al sugo di maiale e musica popolare in piazza.', body: 'Stand aperti dalle 19.', place: 'Piazza Fontana', address: 'Piazza Fontana', day: 24, from: '19:00', to: '23:30' },
  { istat: '070081', cat: 'mostre', title: 'Presepi artigianali del Trigno', summary: 'Cento presepi realizzati dagli artigiani della valle del Trigno.', body: 'Aperta tutti i giorni; visite guidate la domenica.', place: 'Palazzo vescovile', address: 'Piazza Cattedrale', day: 3, days: 31 },
];

/** Demo news: [ente ISTAT code or null for the province (the SAEL), days ago, title, summary, body]. */
export const DEMO_NEWS: [string | null, number, string, string, string][] = [
  [null, 1, 'Eventi e notizie dei comuni sul portale provinciale', 'Il portale del S.A.E.L. pubblica gli eventi e le notizie dei comuni: scegli il tuo comune in «Il mio Comune».', 'Da oggi i comuni aderenti pubblicano sul portale provinciale i loro eventi e le loro notizie.\n\nI cittadini possono scegliere il proprio comune, salvare gli eventi, aggiungerli al calendario e ricevere un avviso quando ne viene pubblicato uno nuovo.'],
  [null, 6, 'Conservazione digitale per i comuni aderenti', 'Le ricevute di pagamento dei comuni aderenti sono conservate a norma dal S.A.E.L.', 'Il servizio di conservazione è attivo per tutti i comuni aderenti: ricevute e flussi di rendicontazione vengono conservati ogni notte.'],
  [null, 15, 'Sportello S.A.E.L.: orari di dicembre', 'Lo sportello di Via Roma 47 resta aperto anche il martedì e il giovedì pomeriggio.', 'Gli orari completi e i contatti sono nella pagina dell’Infopoint.'],
  ['070006', 2, 'Raccolta differenziata: il nuovo calendario', 'Dal prossimo mese cambia il giorno di raccolta della plastica nei quartieri nord.', 'Il calendario aggiornato è disponibile all’ufficio ambiente e sul sito del comune.'],
  ['070006', 9, 'Mensa scolastica: iscrizioni aperte', 'Le famiglie possono iscrivere i bambini alla mensa e pagare le ricariche con pagoPA.', 'L’iscrizione si fa online; le ricariche si pagano dal portale provinciale con «Mensa scolastica».'],
  ['070078', 3, 'Lavori sul lungomare nord: modifiche alla viabilità', 'Per due settimane il lungomare nord è a senso unico fra il porto e Sant’Antonio.', 'I bus urbani seguono un percorso alternativo; le fermate provvisorie sono segnalate.'],
  ['070003', 4, 'Contributi per le botteghe del centro storico', 'Un bando sostiene le attività artigiane e commerciali del centro storico.', 'Le domande si presentano entro trenta giorni all’ufficio attività produttive.'],
  ['070031', 7, 'Biblioteca comunale: nuovi orari', 'La biblioteca apre anche il sabato mattina.', 'Dal lunedì al venerdì 9–13 e 15–18, il sabato 9–13.'],
  ['070057', 5, 'TARI: in arrivo gli avvisi di pagamento', 'Gli avvisi pagoPA della TARI arrivano a casa e nell’area personale del portale.', 'Si possono pagare online, in banca, alle poste o dal tabaccaio; la prima rata scade a fine mese.'],
  ['070081', 10, 'Protezione civile: si cercano volontari', 'Il gruppo comunale di protezione civile apre le iscrizioni a nuovi volontari.', 'Il corso di formazione di base è gratuito e si tiene in comune il sabato.'],
];

const PALETTES: Record<string, [string, string, string]> = {
  mostre: ['#5b2a86', '#b86fc9', '#f4e3f7'],
  'spettacoli-concerti': ['#7a1f2b', '#d0473c', '#fbe3d6'],
  'sagre-enogastronomia': ['#8a4b08', '#e0a030', '#fff2cf'],
  sport: ['#0b4f6c', '#20a4c8', '#dff4fb'],
  'cultura-tradizioni': ['#6b3e26', '#c08552', '#f5e6d3'],
  'natura-escursioni': ['#1f5130', '#4f9d57', '#e2f2dc'],
  'incontri-convegni': ['#253b6e', '#5a7bc0', '#e4eaf8'],
  'per-bambini': ['#a23b72', '#f18f01', '#fff0d9'],
};

/** A decorative 960×540 picture for an event (gradient, hills, sun and shapes; no text). */
export function demoPictureSvg(cat: string, seed: number): string {
  const [dark, mid, light] = PALETTES[cat] ?? ['#06c', '#49f', '#eef'];
  const r = (n: number) => ((seed * 9301 + n * 49297) % 233280) / 233280;
  const hills = [0, 1, 2]
    .map((i) => {
      const y = 330 + i * 60 + Math.round(r(i) * 40);
      const c = Math.round(200 + r(i + 3) * 400);
      return `<path d="M0 ${y} Q ${c} ${y - 140 + i * 30} 960 ${y + 20} L960 540 L0 540 Z" fill="${i === 2 ? dark : mid}" opacity="${0.55 + i * 0.2}"/>`;
    })
    .join('');
  const dots = [0, 1, 2, 3, 4, 5]
    .map((i) => `<circle cx="${Math.round(r(i + 10) * 960)}" cy="${Math.round(60 + r(i + 20) * 220)}" r="${Math.round(8 + r(i + 30) * 26)}" fill="${light}" opacity="0.5"/>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="540" viewBox="0 0 960 540"><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${light}"/><stop offset="1" stop-color="${mid}"/></linearGradient></defs><rect width="960" height="540" fill="url(#g)"/><circle cx="${Math.round(620 + r(40) * 240)}" cy="150" r="70" fill="#fff" opacity="0.8"/>${dots}${hills}</svg>`;
}

async function demoPicture(ctx: EventsCtx, cat: string, seed: number): Promise<StoredImage> {
  const sharp = await loadSharp();
  const jpeg = await sharp(Buffer.from(demoPictureSvg(cat, seed))).jpeg({ quality: 85 }).toBuffer();
  return storeEventImage(ctx.config.events.imagesDir, jpeg, ctx.config.events.imageMaxBytes);
}

/** Saturday and Sunday of "this weekend" for a Rome day (on a Sunday: yesterday and today). */
export function weekendOf(today: string): { sat: string; sun: string } {
  const wd = new Date(`${today}T12:00:00Z`).getUTCDay();
  const sat = wd === 0 ? addDays(today, -1) : addDays(today, (6 - wd + 7) % 7);
  return { sat, sun: addDays(sat, 1) };
}

/** The schedule of a demo event relative to `today` (Rome). */
export function demoSchedule(e: DemoEvent, today: string): Pick<EventInput, 'startsAt' | 'endsAt' | 'allDay' | 'recurrence' | 'recurrenceUntil'> {
  const w = weekendOf(today);
  const first = e.day === 'sat' ? w.sat : e.day === 'sun' ? w.sun : addDays(today, e.day);
  const last = addDays(first, (e.days ?? 1) - 1);
  const allDay = !e.from;
  const startsAt = romeInstant(first, e.from ?? '00:00')!;
  const endsAt = allDay ? romeInstant(addDays(last, 1), '00:00')! : romeInstant(last, e.to ?? e.from!)!;
  return {
    startsAt,
    endsAt,
    allDay,
    recurrence: e.weeks ? 'weekly' : 'none',
    recurrenceUntil: e.weeks ? addDays(first, 7 * (e.weeks - 1)) : null,
  };
}

/**
 * Seeds the demo zones, events and news that are missing (each part only once: zones when there
 * are none, events and news when there are no demo ones). Runs at start-up in demo mode.
 */
export async function seedEventsDemo(ctx: EventsCtx): Promise<{ zones: boolean; events: number; news: number }> {
  // The alerts pass must not run for the demo publications (it would queue nothing anyway).
  const seedCtx: EventsCtx = { ...ctx, kickAlerts: () => {} };
  const zones = await seedDemoZones(ctx.db);
  const now = ctx.now();
  const today = romeDay(now);
  const ids = new Map(
    (await ctx.db
            .select({ id: enti.id, istat: enti.istatCode })
            .from(enti)
            .where(inArray(enti.istatCode, Object.keys(TOWNS))))
      .map((e) => [e.istat!, e.id]),
  );
  const categories = new Map((await ctx.db.select({ id: eventCategories.id, slug: eventCategories.slug }).from(eventCategories)).map((c) => [c.slug, c.id]));

  let eventCount = 0;
  const haveEvents = ((await ctx.db.select({ n: count() }).from(events).where(eq(events.isDemo, true)).limit(1))[0]?.n ?? 0) > 0;
  if (!haveEvents && ids.size > 0) {
    const todo = DEMO_EVENTS.filter((e) => ids.has(e.istat) && categories.has(e.cat));
    // Pictures first, a few at a time (sharp works in libuv's thread pool).
    const pictures: StoredImage[] = [];
    for (let i = 0; i < todo.length; i += 4) {
      pictures.push(...(await Promise.all(todo.slice(i, i + 4).map((e, j) => demoPicture(ctx, e.cat, i + j + 1)))));
    }
    for (const [i, e] of todo.entries()) {
      const town = TOWNS[e.istat]!;
      const enteId = ids.get(e.istat)!;
      const input: EventInput = {
        categoryId: categories.get(e.cat)!,
        title: e.title,
        summary: e.summary,
        body: e.body,
        ...demoSchedule(e, today),
        placeName: e.place,
        address: `${e.address}, ${town.cap} ${town.town}`,
        latitude: Math.round((town.lat + ((i % 5) - 2) * 0.002) * 1e6) / 1e6,
        longitude: Math.round((town.lon + ((i % 3) - 1) * 0.002) * 1e6) / 1e6,
        free: e.priceCents === undefined,
        priceCents: e.priceCents ?? null,
        priceNote: e.priceNote ?? null,
        organiser: e.organiser ?? `Comune di ${town.town}`,
        contactEmail: null,
        contactPhone: null,
        links: [],
        imageAlt: `Illustrazione decorativa a colori: colline e sole stilizzati (${e.title})`,
      };
      let row = await createEvent(seedCtx, enteId, input, { image: pictures[i], publish: true, isDemo: true }, ACTOR);
      if (e.cancel) row = await changeEventStatus(seedCtx, enteId, row.id, row.version, 'cancel', ACTOR, { reason: e.cancel });
      if (e.featured) row = await setEventFeatured(seedCtx, row.id, true, ACTOR);
      eventCount++;
    }
    // Nobody is alerted of demo content: its alerts count as queued.
    await ctx.db
            .update(events)
            .set({ alertsQueuedAt: now.toISOString() })
            .where(and(eq(events.isDemo, true)));
  }

  let newsCount = 0;
  const haveNews = ((await ctx.db.select({ n: count() }).from(publicNews).where(eq(publicNews.isDemo, true)).limit(1))[0]?.n ?? 0) > 0;
  const provinceId = (await ctx.db.select({ id: enti.id }).from(enti).where(eq(enti.kind, 'provincia')).limit(1))[0]?.id;
  if (!haveNews && provinceId !== undefined) {
    for (const [istat, daysAgo, title, summary, body] of DEMO_NEWS) {
      const enteId = istat === null ? provinceId : ids.get(istat);
      if (enteId === undefined) continue;
      const at = new Date(now.getTime() - daysAgo * 86_400_000);
      await createNews(ctx.db, enteId, { title, summary, body }, { userId: null, actor: 'system:demo-seed' }, { now: at, publish: true, isDemo: true });
      newsCount++;
    }
  }
  return { zones, events: eventCount, news: newsCount };
}
