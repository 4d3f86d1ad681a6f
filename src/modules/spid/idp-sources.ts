/**
 * Remote IdP metadata of a federation, kept trustworthy over time (spid.md §7):
 *
 * - SPID: the AgID registry (`SPID_REGISTRY_URL`), one signed aggregate `md:EntitiesDescriptor`
 *   listing every IdP; CIE ID: its own metadata (`CIE_IDP_METADATA_URL`).
 * - A copy is accepted only when it is safe XML within the size limit, valid against the SAML
 *   metadata XSD, signed (enveloped signature over the root) by one of the configured
 *   certificates (`SPID_REGISTRY_CERT_FILE`, `CIE_IDP_METADATA_CERT_FILE`), not expired (root
 *   `validUntil`) and lists at least one usable IdP (signing certificate and SSO endpoint).
 * - The last good copy is written atomically under `DATA_DIR/saml-metadata/` exactly as
 *   downloaded (a `.json` sidecar keeps its URL and download time) and is checked again in full
 *   when read back: a start with the registry unreachable still has the IdPs, and a copy altered
 *   on disk is refused.
 * - A failed download (HTTP error, timeout, too large, not XML, XSD, signature, expired) keeps the
 *   last good copy and logs a warning. A good one replaces it; the SP runtime then swaps the IdP
 *   list of that federation in one assignment (`sp-config.ts`).
 * - {@link IdpMetadataRefresher} downloads each source again when it is due (every
 *   `SPID_REGISTRY_REFRESH_HOURS`; after a failure, sooner). It runs only in processes with
 *   background workers, like the pagoPA schedulers, and is stopped on app close.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { assertXmlTextIsSafe } from '../../xml/safe-parse.js';
import { getXsdSchema } from '../../xml/xsd.js';
import { IdpRegistry, parseIdpMetadata, type IdpEntry } from './idp-registry.js';
import { XSD } from './saml.js';
import type { Federation } from './state.js';

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

/** The AgID aggregate is a few hundred KiB; this leaves ample room and still bounds memory. */
export const DEFAULT_METADATA_MAX_BYTES = 8 * 1024 * 1024;

export interface RemoteMetadataConfig {
  federation: Federation;
  /** For logs, e.g. `SPID registry`. */
  label: string;
  url: string;
  /** PEM certificates (several during a rollover): one of them must have signed the metadata. */
  signerCerts: string[];
  /** Where the last good copy is kept (a `.json` sidecar goes next to it). */
  cacheFile: string;
  timeoutMs: number;
  /** A good copy older than this is downloaded again. */
  refreshMs: number;
  /** Next attempt after a failed download. Default min(refreshMs, 15 min). */
  retryMs?: number;
  maxBytes?: number;
}

/** A copy that passed every check. */
export interface GoodCopy {
  entries: IdpEntry[];
  fetchedAt: Date;
  sha256: string;
  from: 'network' | 'disk';
}

export interface RefreshOutcome {
  federation: Federation;
  label: string;
  ok: boolean;
  /** A new list was taken (different bytes from the copy in use). */
  changed: boolean;
  /** IdPs in the copy in use after this attempt. */
  idps: number;
  reason?: string;
}

export type MetadataCheck = { ok: true; entries: IdpEntry[]; skipped: string[] } | { ok: false; reason: string };

interface Sidecar {
  url: string;
  fetchedAt: string;
  sha256: string;
}

/** Every certificate of a PEM file (several are allowed: AgID may publish the next one ahead). */
export function pemCertificatesOf(text: string, what: string): string[] {
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length === 0) throw new Error(`${what}: no PEM certificate found`);
  return certs.map((c) => `${c}\n`);
}

/** One remote metadata source and its last good copy. */
export class RemoteIdpMetadata {
  private good: GoodCopy | null = null;
  private lastFailureAt: number | null = null;
  private lastError: string | null = null;
  private inFlight: Promise<RefreshOutcome> | null = null;
  private abort: AbortController | null = null;

  constructor(
    readonly config: RemoteMetadataConfig,
    private readonly log: Log,
  ) {}

  get federation(): Federation {
    return this.config.federation;
  }

  /** IdPs of the copy in use, or null when there is none. */
  get entries(): IdpEntry[] | null {
    return this.good?.entries ?? null;
  }

  get status(): { url: string; idps: number; fetchedAt: Date | null; from: GoodCopy['from'] | null; lastError: string | null } {
    return {
      url: this.config.url,
      idps: this.good?.entries.length ?? 0,
      fetchedAt: this.good?.fetchedAt ?? null,
      from: this.good?.from ?? null,
      lastError: this.lastError,
    };
  }

  private get maxBytes(): number {
    return this.config.maxBytes ?? DEFAULT_METADATA_MAX_BYTES;
  }

  private get retryMs(): number {
    return this.config.retryMs ?? Math.min(this.config.refreshMs, 15 * 60_000);
  }

  /** When the next download is due (epoch ms). */
  dueAt(): number {
    const goodDue = this.good ? this.good.fetchedAt.getTime() + this.config.refreshMs : 0;
    const retryDue = this.lastFailureAt !== null ? this.lastFailureAt + this.retryMs : 0;
    if (!this.good) return retryDue;
    return this.lastFailureAt !== null && this.lastFailureAt >= this.good.fetchedAt.getTime() ? Math.min(goodDue, retryDue) : goodDue;
  }

  /** Every check a copy must pass (never throws). */
  check(bytes: Uint8Array, now = new Date()): MetadataCheck {
    try {
      const xml = assertXmlTextIsSafe(bytes, { maxBytes: this.maxBytes });
      const xsd = getXsdSchema(XSD.metadata(), { maxBytes: this.maxBytes }).validate(xml);
      if (!xsd.valid) return { ok: false, reason: `not valid against the SAML metadata XSD: ${xsd.errors.slice(0, 3).join(' | ')}` };
      const all = parseIdpMetadata(xml, { trustedSignerCerts: this.config.signerCerts, maxBytes: this.maxBytes, now });
      const skipped: string[] = [];
      const entries = all.filter((e) => {
        const problem = IdpRegistry.unusable(e);
        if (problem) skipped.push(problem);
        return !problem;
      });
      if (entries.length === 0) return { ok: false, reason: 'no usable IdP in the metadata' };
      return { ok: true, entries, skipped };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  /**
   * At start: the copy on disk when it is good and fresh (no download); otherwise a download,
   * falling back to the (older) copy on disk when the download fails.
   */
  async start(): Promise<void> {
    const disk = await this.readDisk();
    if (disk) {
      this.good = disk;
      if (Date.now() - disk.fetchedAt.getTime() < this.config.refreshMs) {
        this.log.info({ federation: this.federation, url: this.config.url, idps: disk.entries.length, fetchedAt: disk.fetchedAt }, `${this.config.label}: last good copy loaded from disk`);
        return;
      }
    }
    await this.refresh();
    if (!this.good) this.log.error({ federation: this.federation, url: this.config.url }, `${this.config.label}: no usable copy (download failed and none on disk)`);
  }

  /** Downloads and checks a new copy now; concurrent calls share one download. Never throws. */
  refresh(): Promise<RefreshOutcome> {
    this.inFlight ??= this.doRefresh().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Aborts a download in progress (app close). */
  cancel(): void {
    this.abort?.abort(new Error('cancelled'));
  }

  private outcome(ok: boolean, changed: boolean, reason?: string): RefreshOutcome {
    return { federation: this.federation, label: this.config.label, ok, changed, idps: this.good?.entries.length ?? 0, ...(reason ? { reason } : {}) };
  }

  private async doRefresh(): Promise<RefreshOutcome> {
    const { url, label } = this.config;
    let bytes: Buffer;
    try {
      bytes = await this.download();
    } catch (e) {
      return this.failed(`download: ${(e as Error).message}`);
    }
    const checked = this.check(bytes);
    if (!checked.ok) return this.failed(checked.reason);
    if (checked.skipped.length) this.log.warn({ federation: this.federation, url, skipped: checked.skipped.slice(0, 5) }, `${label}: IdPs left out`);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    const changed = this.good?.sha256 !== sha256;
    const fetchedAt = new Date();
    this.good = { entries: checked.entries, fetchedAt, sha256, from: 'network' };
    this.lastFailureAt = null;
    this.lastError = null;
    try {
      await this.writeDisk(changed ? bytes : null, { url, fetchedAt: fetchedAt.toISOString(), sha256 });
    } catch (e) {
      this.log.warn({ federation: this.federation, err: (e as Error).message }, `${label}: could not save the copy to disk`);
    }
    this.log.info({ federation: this.federation, url, idps: checked.entries.length, changed }, `${label}: downloaded`);
    return this.outcome(true, changed);
  }

  private failed(reason: string): RefreshOutcome {
    this.lastFailureAt = Date.now();
    this.lastError = reason.slice(0, 500);
    this.log.warn(
      { federation: this.federation, url: this.config.url, reason: this.lastError, keptCopyFrom: this.good?.fetchedAt ?? null, idps: this.good?.entries.length ?? 0 },
      this.good ? `${this.config.label}: new copy refused, keeping the last good one` : `${this.config.label}: new copy refused, and there is no good copy`,
    );
    return this.outcome(false, false, this.lastError);
  }

  private async download(): Promise<Buffer> {
    const ctrl = new AbortController();
    this.abort = ctrl;
    const timer = setTimeout(() => ctrl.abort(new Error(`timeout after ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
    try {
      const res = await fetch(this.config.url, {
        signal: ctrl.signal,
        redirect: 'follow',
        headers: { accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8' },
      });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > this.maxBytes) throw new Error(`larger than ${this.maxBytes} bytes`);
      const chunks: Buffer[] = [];
      let total = 0;
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.maxBytes) {
          await reader.cancel().catch(() => {});
          throw new Error(`larger than ${this.maxBytes} bytes`);
        }
        chunks.push(Buffer.from(value));
      }
      return Buffer.concat(chunks);
    } catch (e) {
      // fetch reports an abort with the reason given to abort() (our timeout) or a generic error.
      const reason = ctrl.signal.aborted && ctrl.signal.reason instanceof Error ? ctrl.signal.reason : (e as Error);
      throw new Error(reason.message + ((e as { cause?: Error }).cause?.message ? ` (${(e as { cause: Error }).cause.message})` : ''));
    } finally {
      clearTimeout(timer);
      if (this.abort === ctrl) this.abort = null;
    }
  }

  private get sidecarFile(): string {
    return `${this.config.cacheFile}.json`;
  }

  /** The copy on disk if it passes every check again (else null, with a warning). */
  private async readDisk(): Promise<GoodCopy | null> {
    let bytes: Buffer;
    let meta: Sidecar;
    try {
      bytes = await fs.readFile(this.config.cacheFile);
      meta = JSON.parse(await fs.readFile(this.sidecarFile, 'utf8')) as Sidecar;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ federation: this.federation, file: this.config.cacheFile, err: (e as Error).message }, `${this.config.label}: copy on disk not readable`);
      }
      return null;
    }
    if (meta.url !== this.config.url) {
      this.log.info({ federation: this.federation, file: this.config.cacheFile, was: meta.url }, `${this.config.label}: copy on disk is from another URL, ignored`);
      return null;
    }
    const checked = this.check(bytes);
    if (!checked.ok) {
      this.log.warn({ federation: this.federation, file: this.config.cacheFile, reason: checked.reason }, `${this.config.label}: copy on disk refused`);
      return null;
    }
    const fetchedAt = new Date(meta.fetchedAt);
    return {
      entries: checked.entries,
      fetchedAt: Number.isNaN(fetchedAt.getTime()) ? new Date(0) : fetchedAt,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      from: 'disk',
    };
  }

  /** Writes the copy (when `bytes` is given) and its sidecar, each with write-then-rename. */
  private async writeDisk(bytes: Buffer | null, meta: Sidecar): Promise<void> {
    await fs.mkdir(path.dirname(this.config.cacheFile), { recursive: true, mode: 0o700 });
    const atomic = async (file: string, data: Buffer | string) => {
      const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(tmp, data, { mode: 0o600 });
      await fs.rename(tmp, file);
    };
    if (bytes) await atomic(this.config.cacheFile, bytes);
    await atomic(this.sidecarFile, JSON.stringify(meta));
  }
}

export interface IdpMetadataRefresherOptions {
  /** Shortest wait between two passes. Default 1 s. */
  minDelayMs?: number;
}

/**
 * Downloads each remote source again when it is due, calling `refresh` with the due sources (the
 * SP runtime refreshes them and swaps the lists that changed). Started on app ready, stopped on
 * close (an in-progress download is aborted and awaited).
 */
export class IdpMetadataRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly sources: readonly RemoteIdpMetadata[],
    private readonly refresh: (due: RemoteIdpMetadata[]) => Promise<unknown>,
    private readonly log: Log,
    private readonly opts: IdpMetadataRefresherOptions = {},
  ) {}

  get active(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (this.sources.length === 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const next = Math.min(...this.sources.map((s) => s.dueAt()));
    const delay = Math.min(Math.max(this.opts.minDelayMs ?? 1000, next - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    const due = this.sources.filter((s) => s.dueAt() <= now);
    if (due.length) {
      this.running = this.refresh(due).catch((err: unknown) => this.log.error({ err }, 'IdP metadata refresh failed'));
      await this.running;
      this.running = null;
    }
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.sources) s.cancel();
    await this.running;
  }
}
