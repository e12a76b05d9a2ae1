/* The GP's photo check, before sending: most photos from the practice are onscherp or badly lit, and the GP
   can only retake one while the patient is still there. For every <input type="file" data-photo-check> this
   shows each chosen file in the element named by data-preview, with a warning under it.

   The measure is the server's (triage_service/attachments/quality.py), step for step and with the same integer
   arithmetic, so the browser's verdict is the server's: grey by Pillow's "L" weights, shrunk by a whole factor
   to at most 512 px with Pillow's Image.reduce rounding, the variance of the 3x3 Laplacian (offset 128, clipped
   to 0..255, 1-px border left out), the mean grey and the shares of crushed and blown-out pixels. The limits
   come from the input's data attributes, which the server renders from quality.thresholds().

   A file, not inline script: the page's CSP allows only script files from our origin. */
(() => {
  "use strict";

  const ANALYSIS_SIZE = 512;
  const DARK_BELOW = 16;
  const BRIGHT_ABOVE = 239;
  const ACCEPTED = ["image/jpeg", "image/png", "application/pdf"];
  // Rows drawn to the canvas at a time: a 48 MP photo would need 190 MB of pixels at once.
  const STRIP_ROWS = 256;
  // A live region must be in the page before its text changes, or screen readers may not read it out.
  const ANNOUNCE_DELAY_MS = 100;

  const TEXT = {
    nl: {
      blurred: "Deze foto is onscherp. Maak hem opnieuw, met de camera stil en scherpgesteld op de afwijking.",
      dark: "Deze foto is te donker. Maak hem opnieuw met meer licht, bijvoorbeeld bij het raam of met een lamp erbij.",
      bright: "Deze foto is overbelicht. Maak hem opnieuw zonder flitser en zonder fel licht recht op de huid.",
      ok: "Foto is scherp en goed belicht.",
      unreadable: "Deze foto kan niet worden gelezen. Maak hem opnieuw of stuur hem als JPEG.",
      preview: (name) => `Voorbeeld van ${name}`,
      document: (name) => `${name} (PDF-document)`,
      type: (name) => `${name} wordt niet meegestuurd: stuur een foto (JPEG of PNG) of een PDF.`,
      size: (name, size, max) => `${name} wordt niet meegestuurd: het bestand is ${size} MB, de grens is ${max} MB.`,
    },
    en: {
      blurred: "This photo is blurred. Take it again, holding the camera still and focused on the lesion.",
      dark: "This photo is too dark. Take it again with more light, for example near a window or with a lamp.",
      bright: "This photo is overexposed. Take it again without flash and without bright light straight on the skin.",
      ok: "Photo is sharp and well lit.",
      unreadable: "This photo cannot be read. Take it again or send it as JPEG.",
      preview: (name) => `Preview of ${name}`,
      document: (name) => `${name} (PDF document)`,
      type: (name) => `${name} will not be sent: send a photo (JPEG or PNG) or a PDF.`,
      size: (name, size, max) => `${name} will not be sent: the file is ${size} MB, the limit is ${max} MB.`,
    },
  };

  const language = () => (document.documentElement.lang.toLowerCase().startsWith("en") ? "en" : "nl");
  const text = () => TEXT[language()];
  const megabytes = (bytes) =>
    new Intl.NumberFormat(language(), { maximumFractionDigits: 1 }).format(bytes / 1048576);

  // Pillow's division in Image.reduce (libImaging/Reduce.c): a float reciprocal, then a 24-bit shift.
  const reduceMultiplier = (count) => Math.floor(Math.fround(4294967296 / Math.fround(256 * count)));

  /** The grey analysis image of a decoded photo: {width, height, pixels}. */
  function analysisImage(bitmap) {
    const { width, height } = bitmap;
    const factor = Math.max(1, Math.ceil(Math.max(width, height) / ANALYSIS_SIZE));
    const outWidth = Math.ceil(width / factor);
    const outHeight = Math.ceil(height / factor);
    const pixels = new Uint8Array(outWidth * outHeight);
    const sums = new Uint32Array(outWidth);
    const stripRows = factor * Math.max(1, Math.floor(STRIP_ROWS / factor)); // whole blocks per strip
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = Math.min(stripRows, height);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    for (let top = 0; top < height; top += stripRows) {
      const rows = Math.min(stripRows, height - top);
      context.clearRect(0, 0, width, canvas.height);
      context.drawImage(bitmap, 0, top, width, rows, 0, 0, width, rows); // 1:1, so no resampling
      const rgba = context.getImageData(0, 0, width, rows).data;
      for (let block = 0; block < rows; block += factor) {
        const blockRows = Math.min(factor, rows - block);
        sums.fill(0);
        for (let y = block; y < block + blockRows; y++) {
          for (let x = 0, i = y * width * 4; x < width; x++, i += 4) {
            // Pillow's RGB to "L": ITU-R 601-2 weights in 16-bit fixed point, rounded.
            sums[Math.floor(x / factor)] += (rgba[i] * 19595 + rgba[i + 1] * 38470 + rgba[i + 2] * 7471 + 0x8000) >> 16;
          }
        }
        const row = ((top + block) / factor) * outWidth;
        for (let x = 0; x < outWidth; x++) {
          const count = Math.min(factor, width - x * factor) * blockRows;
          pixels[row + x] = Math.floor(((sums[x] + Math.floor(count / 2)) * reduceMultiplier(count)) / 16777216);
        }
      }
    }
    return { width: outWidth, height: outHeight, pixels };
  }

  /** The same numbers as quality.measure(): sharpness, brightness, darkFraction, brightFraction. */
  function measureImage({ width, height, pixels }) {
    let sum = 0;
    let dark = 0;
    let bright = 0;
    for (const value of pixels) {
      sum += value;
      dark += value < DARK_BELOW ? 1 : 0;
      bright += value > BRIGHT_ABOVE ? 1 : 0;
    }
    let sharpness = 0;
    if (width > 2 && height > 2) {
      let edgeSum = 0;
      let edgeSum2 = 0;
      for (let y = 1; y < height - 1; y++) {
        for (let x = 1, i = y * width + 1; x < width - 1; x++, i++) {
          const laplacian = pixels[i - width] + pixels[i + width] + pixels[i - 1] + pixels[i + 1] - 4 * pixels[i];
          const value = Math.min(255, Math.max(0, laplacian + 128)); // as Pillow stores it in "L"
          edgeSum += value;
          edgeSum2 += value * value;
        }
      }
      const count = (width - 2) * (height - 2);
      sharpness = (edgeSum2 - (edgeSum * edgeSum) / count) / count; // ImageStat's variance formula
    }
    const count = width * height;
    return { sharpness, brightness: sum / count, darkFraction: dark / count, brightFraction: bright / count };
  }

  async function measure(file) {
    // No colour conversion: the server ignores embedded colour profiles too.
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none" });
    try {
      return measureImage(analysisImage(bitmap));
    } finally {
      bitmap.close();
    }
  }

  function problems(quality, limits) {
    const found = [];
    if (quality.sharpness < limits.minSharpness) found.push("blurred");
    if (quality.brightness < limits.minBrightness || quality.darkFraction > limits.maxDarkFraction) found.push("dark");
    if (quality.brightness > limits.maxBrightness || quality.brightFraction > limits.maxBrightFraction) {
      found.push("bright");
    }
    return found;
  }

  /** A status line that screen readers read out (politely) once its text arrives. */
  function statusLine(parent) {
    const line = document.createElement("p");
    line.setAttribute("role", "status");
    line.setAttribute("aria-live", "polite");
    parent.append(line);
    return (message, className) =>
      setTimeout(() => {
        line.className = className;
        line.textContent = message;
      }, ANNOUNCE_DELAY_MS);
  }

  async function showPhoto(file, figure, limits) {
    const caption = document.createElement("figcaption");
    figure.append(caption);
    const say = statusLine(caption);
    let quality;
    try {
      quality = await measure(file);
    } catch {
      figure.dataset.quality = "unreadable";
      say(text().unreadable, "photo-warning");
      return;
    }
    const found = problems(quality, limits);
    figure.dataset.quality = found.length ? found.join(" ") : "ok";
    figure.dataset.sharpness = String(quality.sharpness);
    figure.dataset.brightness = String(quality.brightness);
    figure.dataset.darkFraction = String(quality.darkFraction);
    figure.dataset.brightFraction = String(quality.brightFraction);
    const messages = text();
    if (found.length) {
      say(found.map((problem) => messages[problem]).join(" "), "photo-warning");
    } else {
      say(messages.ok, "photo-ok");
    }
  }

  function show(file, input, preview, urls) {
    const messages = text();
    const maxBytes = Number(input.dataset.maxBytes);
    if (!ACCEPTED.includes(file.type) || (maxBytes > 0 && file.size > maxBytes)) {
      const say = statusLine(preview);
      say(ACCEPTED.includes(file.type) ? messages.size(file.name, megabytes(file.size), megabytes(maxBytes))
        : messages.type(file.name), "photo-warning photo-rejected");
      return;
    }
    const figure = document.createElement("figure");
    figure.className = "photo-preview";
    preview.append(figure);
    if (file.type === "application/pdf") {
      const caption = document.createElement("figcaption");
      caption.textContent = messages.document(file.name);
      figure.append(caption);
      return;
    }
    const url = URL.createObjectURL(file);
    urls.push(url);
    const image = document.createElement("img");
    image.src = url;
    image.alt = messages.preview(file.name);
    figure.append(image);
    const limit = (name) => Number(input.dataset[name] ?? Number.NaN); // a missing limit never warns
    showPhoto(file, figure, {
      minSharpness: limit("minSharpness"),
      minBrightness: limit("minBrightness"),
      maxBrightness: limit("maxBrightness"),
      maxDarkFraction: limit("maxDarkFraction"),
      maxBrightFraction: limit("maxBrightFraction"),
    });
  }

  function watch(input) {
    const urls = [];
    input.addEventListener("change", () => {
      const preview = document.getElementById(input.dataset.preview);
      if (!preview) return;
      urls.splice(0).forEach((url) => URL.revokeObjectURL(url)); // the previous choice's previews go
      preview.replaceChildren();
      for (const file of input.files) show(file, input, preview, urls);
    });
  }

  const start = () => document.querySelectorAll('input[type="file"][data-photo-check]').forEach(watch);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
