// Draws the extension's 128x128 icon (a git branch whose tip is a key, white on Azure blue) and
// writes it as a PNG with nothing but zlib: no image tools on the build machine, and the result is
// committed, so this only runs when the icon changes:  node scripts/make-icon.mjs
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const SIZE = 128;
const SUPERSAMPLE = 4; // 4x4 samples per pixel: smooth edges without a rasteriser library
const AZURE_BLUE = [0x00, 0x78, 0xd4];
const WHITE = [0xff, 0xff, 0xff];

// --- geometry: each shape answers "is this point inside?" ------------------------------------
const distToSegment = (px, py, ax, ay, bx, by) => {
  const dx = bx - ax,
    dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
};
const stroke = (ax, ay, bx, by, width) => (x, y) => distToSegment(x, y, ax, ay, bx, by) <= width / 2;
const ring = (cx, cy, r, width) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) <= width / 2;
const disc = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) <= r;
const roundedSquare = (x0, y0, x1, y1, r) => (x, y) => {
  const qx = Math.max(x0 + r - x, 0, x - (x1 - r));
  const qy = Math.max(y0 + r - y, 0, y - (y1 - r));
  return x >= x0 && x <= x1 && y >= y0 && y <= y1 && Math.hypot(qx, qy) <= r;
};
/** A quadratic Bezier stroke, as a chain of short segments. */
const curve = (p0, p1, p2, width) => {
  const pts = [];
  for (let i = 0; i <= 24; i++) {
    const t = i / 24,
      u = 1 - t;
    pts.push([u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0], u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1]]);
  }
  const parts = pts.slice(1).map((p, i) => stroke(pts[i][0], pts[i][1], p[0], p[1], width));
  return (x, y) => parts.some((inside) => inside(x, y));
};
const union =
  (...shapes) =>
  (x, y) =>
    shapes.some((inside) => inside(x, y));
const minus = (a, b) => (x, y) => a(x, y) && !b(x, y);

const W = 9; // stroke width of the mark
const background = roundedSquare(0, 0, SIZE, SIZE, 26);
const mark = union(
  // git: the trunk with two commits (rings, hollow so they read as commits, not dots)
  stroke(40, 38, 40, 82, W),
  minus(disc(40, 28, 11), disc(40, 28, 4.5)),
  minus(disc(40, 96, 11), disc(40, 96, 4.5)),
  // the branch leaves the trunk, bends up and becomes the key's shaft
  curve([40, 88], [88, 88], [88, 66], W),
  stroke(88, 66, 88, 47, W),
  // the key: bow (ring) at the top right, two teeth on the shaft
  ring(88, 32, 14, W),
  stroke(88, 54, 103, 54, 7),
  stroke(88, 65, 100, 65, 7),
);

// --- raster -----------------------------------------------------------------------------------
const rgba = Buffer.alloc(SIZE * SIZE * 4);
const n = SUPERSAMPLE * SUPERSAMPLE;
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    let bg = 0,
      fg = 0;
    for (let sy = 0; sy < SUPERSAMPLE; sy++) {
      for (let sx = 0; sx < SUPERSAMPLE; sx++) {
        const x = px + (sx + 0.5) / SUPERSAMPLE,
          y = py + (sy + 0.5) / SUPERSAMPLE;
        if (background(x, y)) {
          bg++;
          if (mark(x, y)) fg++;
        }
      }
    }
    const o = (py * SIZE + px) * 4;
    const f = bg ? fg / bg : 0;
    for (let c = 0; c < 3; c++) rgba[o + c] = Math.round(AZURE_BLUE[c] * (1 - f) + WHITE[c] * f);
    rgba[o + 3] = Math.round((255 * bg) / n);
  }
}

// --- PNG encoding (IHDR, one IDAT, IEND; filter 0 on every row) ------------------------------
const CRC_TABLE = Array.from({ length: 256 }, (_, k) => {
  let c = k;
  for (let i = 0; i < 8; i++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8;
ihdr[9] = 6; // 8-bit RGBA
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) rgba.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);

const root = path.resolve(import.meta.dirname, '..');
const targets = [
  'images/icon.png',
  ...['FluxOidcProvision', 'FluxManifestPatch', 'FluxOidcVerify'].map((t) => `tasks/${t}/icon.png`),
];
for (const rel of targets) {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), png);
  console.log(`${rel}: ${png.length} bytes`);
}
