/**
 * Event pictures: an upload is checked by its bytes (JPEG, PNG, WebP or AVIF only, whatever its
 * name or declared type), decoded by sharp (libvips: a damaged file or a decompression bomb is
 * refused), turned upright by its EXIF orientation, and stored as WebP variants 480, 960 and 1600
 * pixels wide (never upscaled: a smaller original gets only the widths it covers) in
 * `DATA_DIR/files/events/<imageKey>/<width>.webp`. Every metadata block (EXIF with its GPS
 * position, XMP, IPTC) is dropped: sharp writes none unless asked. The variants are served at
 * `/eventi/immagini/<imageKey>/<width>.webp` (immutable: a new picture gets a new key).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadFileType } from '../../lazy-packages.js';

/**
 * sharp (libvips) loads with the first picture, not with the app: every test file and CLI command
 * builds the app, few touch a picture (~0.1 s of start-up each).
 */
let sharpModule: Promise<(typeof import('sharp'))['default']> | undefined;
export const loadSharp = (): Promise<(typeof import('sharp'))['default']> => (sharpModule ??= import('sharp').then((m) => m.default));

/** Widths of the stored variants, smallest first. */
export const IMAGE_WIDTHS = [480, 960, 1600] as const;
export type ImageWidth = (typeof IMAGE_WIDTHS)[number];
/** An original narrower than this is refused (it would look blurred on every card). */
export const MIN_IMAGE_WIDTH = IMAGE_WIDTHS[0];
/** Largest picture decoded, in pixels (a 40-megapixel photo; more is refused before decoding). */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** Formats accepted, by the MIME type file-type finds in the bytes. */
export const ACCEPTED_IMAGE_TYPES: Readonly<Record<string, string>> = {
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/webp': 'WebP',
  'image/avif': 'AVIF',
};
/** An image key: 32 hex characters (random, 128 bits). */
export const IMAGE_KEY_PATTERN = '^[0-9a-f]{32}$';
const IMAGE_KEY = new RegExp(IMAGE_KEY_PATTERN);
const WEBP_QUALITY = 80;

/** A refused upload: `status` is the HTTP status, the message is for the person who sent it. */
export class EventImageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EventImageError';
  }
}

/** A stored picture: its key and the size of the upright original. */
export interface StoredImage {
  imageKey: string;
  width: number;
  height: number;
}

/** What an event needs to name its picture. */
export interface EventImageFields {
  imageKey: string | null;
  imageWidth: number | null;
  imageHeight: number | null;
}

export interface ImageVariant {
  width: number;
  height: number;
  url: string;
}

export function isImageKey(key: string): boolean {
  return IMAGE_KEY.test(key);
}

/** Public URL of one variant. */
export function imageUrl(imageKey: string, width: number): string {
  return `/eventi/immagini/${imageKey}/${width}.webp`;
}

/** Widths stored for an original `width` pixels wide. */
export function variantWidths(width: number): ImageWidth[] {
  return IMAGE_WIDTHS.filter((w) => w <= width);
}

/**
 * The stored variants of an event's picture, smallest first (empty without a picture), with the
 * height each has (the original's proportions): what `srcset` and `<img width height>` need.
 */
export function imageVariants(event: EventImageFields): ImageVariant[] {
  const { imageKey, imageWidth, imageHeight } = event;
  if (!imageKey || !imageWidth || !imageHeight) return [];
  return variantWidths(imageWidth).map((width) => ({ width, height: Math.round((width * imageHeight) / imageWidth), url: imageUrl(imageKey, width) }));
}

/** `srcset` attribute value of an event's picture (`url 480w, url 960w, …`); '' without one. */
export function imageSrcset(event: EventImageFields): string {
  return imageVariants(event)
    .map((v) => `${v.url} ${v.width}w`)
    .join(', ');
}

/** File of one variant, or null when the key or width is not one we make. */
export function variantPath(imagesDir: string, imageKey: string, width: number): string | null {
  if (!isImageKey(imageKey) || !(IMAGE_WIDTHS as readonly number[]).includes(width)) return null;
  return path.join(imagesDir, imageKey, `${width}.webp`);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString('it-IT', { maximumFractionDigits: 1 })} MB`;
}

/**
 * Checks an uploaded picture and stores its WebP variants; returns its key and upright size.
 * Throws EventImageError (413 too large, 415 not an accepted image or unreadable, 422 too small
 * or too many pixels). Nothing is left on disk when it throws; the variants appear at once (the
 * folder is renamed into place when complete).
 */
export async function storeEventImage(imagesDir: string, bytes: Buffer, maxBytes: number): Promise<StoredImage> {
  if (bytes.length === 0) throw new EventImageError(400, 'Il file dell’immagine è vuoto.');
  if (bytes.length > maxBytes) throw new EventImageError(413, `L’immagine supera la dimensione massima di ${megabytes(maxBytes)}.`);
  const { fileTypeFromBuffer } = await loadFileType();
  const type = await fileTypeFromBuffer(bytes);
  if (!type || !(type.mime in ACCEPTED_IMAGE_TYPES)) {
    throw new EventImageError(415, `Il file non è un’immagine JPEG, PNG, WebP o AVIF${type ? ` (è un file ${type.ext.toUpperCase()})` : ''}: scegli una fotografia o un’immagine in uno di questi formati.`);
  }
  const sharp = await loadSharp();
  const input = () => sharp(bytes, { autoOrient: true, limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' });
  let width: number;
  let height: number;
  try {
    const meta = await input().metadata();
    width = meta.autoOrient?.width ?? meta.width;
    height = meta.autoOrient?.height ?? meta.height;
  } catch {
    throw new EventImageError(415, 'L’immagine è danneggiata o non leggibile: salvala di nuovo e riprova.');
  }
  if (width * height > MAX_IMAGE_PIXELS) throw new EventImageError(422, `L’immagine ha troppi pixel (${width}×${height}): riducila sotto i 40 megapixel.`);
  if (width < MIN_IMAGE_WIDTH) throw new EventImageError(422, `L’immagine è larga ${width} pixel: servono almeno ${MIN_IMAGE_WIDTH} pixel di larghezza.`);

  const imageKey = crypto.randomBytes(16).toString('hex');
  fs.mkdirSync(imagesDir, { recursive: true });
  const tmp = path.join(imagesDir, `.tmp-${imageKey}`);
  fs.mkdirSync(tmp);
  try {
    for (const w of variantWidths(width)) {
      await input()
        .resize({ width: w, withoutEnlargement: true })
        .webp({ quality: WEBP_QUALITY })
        .toFile(path.join(tmp, `${w}.webp`));
    }
    fs.renameSync(tmp, path.join(imagesDir, imageKey));
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // libvips' decoding errors carry no `code`; file-system errors (disk full, permissions) do, and stay 500s.
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === undefined) {
      throw new EventImageError(415, 'L’immagine è danneggiata o non leggibile: salvala di nuovo e riprova.');
    }
    throw err;
  }
  return { imageKey, width, height };
}

/** Removes a picture's variants (after the event no longer names it). Unknown keys are ignored. */
export function discardEventImage(imagesDir: string, imageKey: string | null | undefined): void {
  if (!imageKey || !isImageKey(imageKey)) return;
  fs.rmSync(path.join(imagesDir, imageKey), { recursive: true, force: true });
}

/**
 * Removes picture folders no event names (a crash between storing a picture and saving its event
 * leaves one) and unfinished `.tmp-*` folders, when older than `graceMs` (an upload being saved
 * right now is never touched). Returns how many folders were removed.
 */
export function sweepOrphanImages(imagesDir: string, referenced: ReadonlySet<string>, now: Date, graceMs = 3_600_000): number {
  if (!fs.existsSync(imagesDir)) return 0;
  let removed = 0;
  for (const entry of fs.readdirSync(imagesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const key = entry.name.startsWith('.tmp-') ? null : entry.name;
    if (key !== null && (!isImageKey(key) || referenced.has(key))) continue;
    const full = path.join(imagesDir, entry.name);
    if (now.getTime() - fs.statSync(full).mtimeMs < graceMs) continue;
    fs.rmSync(full, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
