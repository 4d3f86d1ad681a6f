/**
 * Packages loaded at their first use instead of when the app is imported: PDF drawing (pdfkit,
 * fontkit, svg-to-pdfkit, the QR and DataMatrix encoders), Web Push, ZIP writing, the CMS library
 * (pkijs, asn1js) and file-type. Why: every process paid for them at import (measured, each
 * alone: pdfkit with fontkit 499 ms of CPU, pkijs 280, file-type 105, bwip-js 87, web-push 73,
 * asn1js 72, qrcode 69, svg-to-pdfkit 49, yazl 46; importing the app as a test process does went
 * from 1.94 s to 1.43 s of CPU without them and the PostgreSQL driver), and most processes (a
 * test file, a server that renders no PDF and checks no signature that minute) never use them.
 * Each loader imports its package once; the code that uses it awaits the loader and keeps
 * `import type` for the types.
 *
 * Modules that use pkijs throughout (conservazione's sealer, timestamp.ts, cades.ts,
 * checks/signature.ts, the TSA simulator) keep their static imports and are themselves imported
 * at first use (conservazione/index.ts, checks/run-checks.ts, simulators/tsa/routes.ts); the
 * PostgreSQL driver is imported by db/postgres.ts's openPostgres.
 */

/** `load` runs at the first call; every call gets its one promise (an `import()` per call costs a module lookup each time). */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}

export const loadPdfkit = once(async () => (await import('pdfkit')).default);
export const loadFontkit = once(() => import('fontkit'));
export const loadSvgToPdfkit = once(async () => (await import('svg-to-pdfkit')).default);
export const loadQrcode = once(async () => (await import('qrcode')).default);
export const loadBwipjs = once(async () => (await import('bwip-js')).default);
export const loadWebPush = once(async () => (await import('web-push')).default);
export const loadYazl = once(async () => (await import('yazl')).default);
export const loadPkijs = once(() => import('pkijs'));
export const loadAsn1js = once(() => import('asn1js'));
export const loadFileType = once(() => import('file-type'));
