import sharp from 'sharp';
import { seedFrom, seededRandom } from '../prng';

/** What a generated picture depends on. */
export interface PictureSpec {
  prompt: string;
  /** Picks the layout; the palette comes from the prompt alone, so variations of one prompt look related. */
  seed: number;
  width: number;
  height: number;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!
  );
}

function hsl(h: number, s: number, l: number): string {
  return `hsl(${Math.round(((h % 360) + 360) % 360)},${Math.round(s)}%,${Math.round(l)}%)`;
}

/**
 * An SVG standing in for a generated picture: a gradient sky, a horizon, shapes and a caption. Distinctness never
 * depends on the caption, since a machine without fonts renders no text.
 */
export function promptSvg(spec: PictureSpec): string {
  const { width: w, height: h } = spec;
  const promptRandom = seededRandom(seedFrom('palette', spec.prompt));
  const random = seededRandom(spec.seed);
  const baseHue = promptRandom() * 360;
  // The palette drifts a little per variation, the layout a lot.
  const hue = baseHue + (random() - 0.5) * 40;
  const palette = [0, 35, 180, 215, 90].map((offset, i) =>
    hsl(hue + offset, 50 + promptRandom() * 40, 25 + ((i * 13 + promptRandom() * 40) % 55))
  );
  const angle = Math.round(random() * 360);
  const horizon = h * (0.45 + random() * 0.3);
  const shapes: string[] = [];
  const count = 5 + Math.floor(random() * 5);
  for (let i = 0; i < count; i++) {
    const x = random() * w;
    const y = random() * h;
    const size = (0.08 + random() * 0.25) * Math.min(w, h);
    const fill = palette[Math.floor(random() * palette.length)];
    const opacity = (0.55 + random() * 0.4).toFixed(2);
    const kind = Math.floor(random() * 3);
    if (kind === 0) {
      shapes.push(
        `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${size.toFixed(1)}" fill="${fill}" opacity="${opacity}"/>`
      );
    } else if (kind === 1) {
      const rotate = Math.round(random() * 90);
      shapes.push(
        `<rect x="${(x - size).toFixed(1)}" y="${(y - size / 2).toFixed(1)}" width="${(size * 2).toFixed(1)}" ` +
          `height="${size.toFixed(1)}" fill="${fill}" opacity="${opacity}" transform="rotate(${rotate} ${x.toFixed(1)} ${y.toFixed(1)})"/>`
      );
    } else {
      const points = [0, 1, 2]
        .map((k) => {
          const t = (k / 3) * Math.PI * 2 + random();
          return `${(x + Math.cos(t) * size).toFixed(1)},${(y + Math.sin(t) * size).toFixed(1)}`;
        })
        .join(' ');
      shapes.push(`<polygon points="${points}" fill="${fill}" opacity="${opacity}"/>`);
    }
  }
  // The end of a prompt says what the picture is (its start is the shared style), so the caption keeps the end.
  const caption = escapeXml(spec.prompt.length > 60 ? `...${spec.prompt.slice(-57)}` : spec.prompt);
  const fontSize = Math.max(12, Math.round(h / 22));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    `<defs><linearGradient id="sky" gradientTransform="rotate(${angle} 0.5 0.5)">`,
    `<stop offset="0" stop-color="${palette[0]}"/><stop offset="1" stop-color="${palette[1]}"/></linearGradient></defs>`,
    `<rect width="${w}" height="${h}" fill="url(#sky)"/>`,
    `<rect y="${horizon.toFixed(1)}" width="${w}" height="${(h - horizon).toFixed(1)}" fill="${palette[2]}" opacity="0.7"/>`,
    ...shapes,
    `<rect y="${h - fontSize * 2}" width="${w}" height="${fontSize * 2}" fill="black" opacity="0.45"/>`,
    `<text x="${fontSize}" y="${h - fontSize * 0.7}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="white">${caption}</text>`,
    `</svg>`,
  ].join('');
}

/** Renders the picture of a prompt at an exact pixel size, as PNG or JPEG. */
export async function renderPromptPicture(spec: PictureSpec, format: 'png' | 'jpg'): Promise<Buffer> {
  const image = sharp(Buffer.from(promptSvg(spec)))
    .resize(spec.width, spec.height, { fit: 'fill' })
    .removeAlpha();
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}
