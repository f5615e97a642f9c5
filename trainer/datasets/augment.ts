// Random image augmentation of training batches: shift, rotation and horizontal flip, done in
// plain JavaScript with a seeded generator so it is identical on every backend and reproducible
// after a resume. Pixels that come from outside the image are 0 (MNIST's background).
import { seededRandom } from '../random.ts';

export interface AugmentOptions {
  /** Maximum shift as a fraction of width/height. */
  shift: number;
  /** Maximum rotation in degrees. */
  rotate: number;
  flip: boolean;
}

export function isIdentity(o: AugmentOptions): boolean {
  return o.shift === 0 && o.rotate === 0 && !o.flip;
}

/** Returns augmented copies of `n` images of shape [h, w, c] stored row-major in `images`. */
export function augmentImages(
  images: Float32Array,
  shape: readonly [number, number, number],
  options: AugmentOptions,
  seed: number,
): Float32Array {
  const [h, w, c] = shape;
  const size = h * w * c;
  const n = images.length / size;
  const out = new Float32Array(images.length);
  const rand = seededRandom(seed);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  for (let k = 0; k < n; k++) {
    const angle = ((rand() * 2 - 1) * options.rotate * Math.PI) / 180;
    const dy = (rand() * 2 - 1) * options.shift * h;
    const dx = (rand() * 2 - 1) * options.shift * w;
    const flip = options.flip && rand() < 0.5;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const base = k * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // Inverse mapping: where in the source does output pixel (y, x) come from?
        const ox = x - cx - dx;
        const oy = y - cy - dy;
        let sx = cos * ox + sin * oy + cx;
        const sy = -sin * ox + cos * oy + cy;
        if (flip) sx = w - 1 - sx;
        const ix = Math.round(sx);
        const iy = Math.round(sy);
        if (ix < 0 || iy < 0 || ix >= w || iy >= h) continue;
        const from = base + (iy * w + ix) * c;
        const to = base + (y * w + x) * c;
        for (let ch = 0; ch < c; ch++) out[to + ch] = images[from + ch]!;
      }
    }
  }
  return out;
}
