import type { AspectRatio, Resolution } from './story';

const SHORT_SIDE: Record<Resolution, number> = { '540p': 540, '720p': 720, '1080p': 1080, '4k': 2160 };

/** Pixel size of a frame: the short side is the resolution's number, the long side follows the ratio, both even. */
export function frameSize(aspectRatio: AspectRatio, resolution: Resolution): { width: number; height: number } {
  const [w, h] = aspectRatio.split(':').map(Number);
  const short = SHORT_SIDE[resolution];
  const even = (n: number) => Math.round(n / 2) * 2;
  return w >= h ? { width: even((short * w) / h), height: short } : { width: short, height: even((short * h) / w) };
}
