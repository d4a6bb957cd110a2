// Writes media/icon.png (128x128): a rounded tile with a sparkle, drawn pixel by pixel (no image tools needed).
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
const N = 128;
const px = Buffer.alloc(N * (N * 4 + 1));
const crcTable = new Int32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c; });
const crc = (b) => { let c = -1; for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8); return (c ^ -1) >>> 0; };
for (let y = 0; y < N; y++) {
  px[y * (N * 4 + 1)] = 0;
  for (let x = 0; x < N; x++) {
    const o = y * (N * 4 + 1) + 1 + x * 4;
    const r = 24, cx = Math.min(Math.max(x, r), N - 1 - r), cy = Math.min(Math.max(y, r), N - 1 - r);
    const inside = (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
    const dx = Math.abs(x - 64), dy = Math.abs(y - 64);
    const star = Math.sqrt(dx) + Math.sqrt(dy) <= Math.sqrt(44);
    const t = y / N;
    const [R, G, B] = star ? [255, 255, 255] : [Math.round(21 + 40 * t), Math.round(94 + 30 * t), Math.round(239 - 40 * t)];
    px[o] = R; px[o + 1] = G; px[o + 2] = B; px[o + 3] = inside ? 255 : 0;
  }
}
const chunk = (type, data) => { const len = Buffer.alloc(4); len.writeUInt32BE(data.length); const td = Buffer.concat([Buffer.from(type), data]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]); };
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(N, 0); ihdr.writeUInt32BE(N, 4); ihdr[8] = 8; ihdr[9] = 6;
writeFileSync('media/icon.png', Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(px)), chunk('IEND', Buffer.alloc(0))]));
