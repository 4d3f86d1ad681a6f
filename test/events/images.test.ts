/**
 * Event pictures (no app needed): checked by their bytes (a renamed non-image, a PDF, a GIF, a
 * truncated JPEG are refused with an Italian message and leave nothing on disk), turned upright,
 * stripped of EXIF (GPS included), stored as WebP 480/960/1600 never upscaled; imageVariants
 * describes what was stored.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import sharp from 'sharp';
import { tempDir } from '../helpers.js';
import { discardEventImage, EventImageError, imageSrcset, imageVariants, MIN_IMAGE_WIDTH, storeEventImage, sweepOrphanImages, variantPath } from '../../src/modules/events/images.js';

const MAX = 8_000_000;

function photo(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: '#2a6f97' } });
}

async function refused(t: Test, dir: string, bytes: Buffer, status: number, message: RegExp) {
  const err = await storeEventImage(dir, bytes, MAX).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof EventImageError, 'an EventImageError');
  t.equal((err as EventImageError).status, status);
  t.match((err as EventImageError).message, message);
  t.same(fs.existsSync(dir) ? fs.readdirSync(dir) : [], [], 'nothing left on disk');
}

t.test('a JPEG with EXIF (orientation, GPS) becomes upright WebP variants without metadata', async (t) => {
  const dir = path.join(tempDir(t), 'events');
  // 2000×1200 stored sideways (orientation 6 = rotate 90° clockwise to show): upright 1200×2000.
  const jpeg = await photo(2000, 1200)
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Copyright: 'Comune di prova' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '41/1 33/1 37/1' } })
    .toBuffer();
  const before = await sharp(jpeg).metadata();
  t.ok(before.exif && before.exif.length > 0, 'the upload carries EXIF');
  t.equal(before.orientation, 6);

  const stored = await storeEventImage(dir, jpeg, MAX);
  t.match(stored.imageKey, /^[0-9a-f]{32}$/);
  t.same([stored.width, stored.height], [1200, 2000], 'size of the upright picture');
  t.same(fs.readdirSync(path.join(dir, stored.imageKey)).sort(), ['480.webp', '960.webp'], 'no 1600 variant from a 1200-wide original (never upscaled)');
  for (const w of [480, 960]) {
    const m = await sharp(path.join(dir, stored.imageKey, `${w}.webp`)).metadata();
    t.equal(m.format, 'webp');
    t.equal(m.width, w);
    t.equal(m.height, Math.round((w * 2000) / 1200), 'upright proportions');
    t.equal(m.exif, undefined, 'no EXIF left');
    t.equal(m.xmp, undefined, 'no XMP');
    t.notOk(m.orientation && m.orientation !== 1, 'no rotation left to apply');
  }
  const event = { imageKey: stored.imageKey, imageWidth: stored.width, imageHeight: stored.height };
  t.same(imageVariants(event), [
    { width: 480, height: 800, url: `/eventi/immagini/${stored.imageKey}/480.webp` },
    { width: 960, height: 1600, url: `/eventi/immagini/${stored.imageKey}/960.webp` },
  ]);
  t.equal(imageSrcset(event), `/eventi/immagini/${stored.imageKey}/480.webp 480w, /eventi/immagini/${stored.imageKey}/960.webp 960w`);
  t.same(imageVariants({ imageKey: null, imageWidth: null, imageHeight: null }), []);
  t.equal(variantPath(dir, stored.imageKey, 960), path.join(dir, stored.imageKey, '960.webp'));
  t.equal(variantPath(dir, '../etc', 960), null, 'a key that is not ours names no file');
  t.equal(variantPath(dir, stored.imageKey, 500), null, 'a width we do not make names no file');

  discardEventImage(dir, stored.imageKey);
  t.notOk(fs.existsSync(path.join(dir, stored.imageKey)), 'discarded');
});

t.test('PNG, WebP and AVIF are accepted; a large original gets the three widths', async (t) => {
  const dir = path.join(tempDir(t), 'events');
  const big = await storeEventImage(dir, await photo(2400, 1600).png().toBuffer(), MAX);
  t.same(fs.readdirSync(path.join(dir, big.imageKey)).sort(), ['1600.webp', '480.webp', '960.webp']);
  t.same(
    imageVariants({ imageKey: big.imageKey, imageWidth: big.width, imageHeight: big.height }).map((v) => [v.width, v.height]),
    [
      [480, 320],
      [960, 640],
      [1600, 1067],
    ],
  );
  const webp = await storeEventImage(dir, await photo(800, 600).webp().toBuffer(), MAX);
  t.same(fs.readdirSync(path.join(dir, webp.imageKey)), ['480.webp']);
  const avif = await storeEventImage(dir, await photo(640, 480).avif().toBuffer(), MAX);
  t.same(fs.readdirSync(path.join(dir, avif.imageKey)), ['480.webp']);
  t.equal((await sharp(path.join(dir, avif.imageKey, '480.webp')).metadata()).width, 480);
});

t.test('what is refused, by its bytes', async (t) => {
  const dir = path.join(tempDir(t), 'events');
  // A text file renamed foto.jpg: the name and declared type are never looked at, only the bytes.
  await refused(t, dir, Buffer.from('<html><body>non sono una foto</body></html>'), 415, /non è un’immagine JPEG, PNG, WebP o AVIF/);
  await refused(t, dir, Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'), 415, /non è un’immagine .*\(è un file PDF\)/);
  await refused(t, dir, await photo(600, 400).gif().toBuffer(), 415, /è un file GIF/);
  // A JPEG cut in half: the magic bytes are right, the picture is not.
  const jpeg = await photo(1200, 800).jpeg().toBuffer();
  await refused(t, dir, jpeg.subarray(0, Math.floor(jpeg.length / 2)), 415, /danneggiata o non leggibile/);
  await refused(t, dir, await photo(MIN_IMAGE_WIDTH - 1, 300).png().toBuffer(), 422, /larga 479 pixel: servono almeno 480/);
  // Too large: refused before anything is decoded (EVENTS_IMAGE_MAX_BYTES).
  const tooBig = await storeEventImage(dir, Buffer.concat([jpeg, Buffer.alloc(2_000_000)]), 1_500_000).catch((e: unknown) => e);
  t.equal((tooBig as EventImageError).status, 413);
  t.match((tooBig as EventImageError).message, /supera la dimensione massima di 1,5 MB/);
  await refused(t, dir, Buffer.alloc(0), 400, /vuoto/);
});

t.test('orphan picture folders are swept after a grace period; named ones and recent ones stay', async (t) => {
  const dir = path.join(tempDir(t), 'events');
  const jpeg = await photo(600, 400).jpeg().toBuffer();
  const named = await storeEventImage(dir, jpeg, MAX);
  const orphan = await storeEventImage(dir, jpeg, MAX);
  const recent = await storeEventImage(dir, jpeg, MAX);
  fs.mkdirSync(path.join(dir, `.tmp-${'a'.repeat(32)}`));
  fs.mkdirSync(path.join(dir, 'not-a-key'));
  const now = new Date();
  const old = new Date(now.getTime() - 2 * 3_600_000);
  for (const name of [named.imageKey, orphan.imageKey, `.tmp-${'a'.repeat(32)}`, 'not-a-key']) fs.utimesSync(path.join(dir, name), old, old);
  t.equal(sweepOrphanImages(dir, new Set([named.imageKey]), now), 2, 'the orphan and the unfinished folder');
  t.same(fs.readdirSync(dir).sort(), [named.imageKey, recent.imageKey, 'not-a-key'].sort(), 'what no event names but is recent, or is not ours, stays');
  t.equal(sweepOrphanImages(path.join(dir, 'missing'), new Set(), now), 0);
});
