// The main-thread API: every call goes to a Web Worker that owns the wasm module, so the page
// never blocks; every method returns a promise; failures reject with an Error carrying the
// core's message.

class Client {
  /** @param {Worker} worker */
  constructor(worker) {
    this.worker = worker;
    this.next = 1;
    /** @type {Map<number, {resolve: Function, reject: Function, progress?: Function}>} */
    this.pending = new Map();
    worker.onmessage = (event) => {
      const { id, result, error, progress } = event.data;
      const call = this.pending.get(id);
      if (!call) return;
      if (progress) {
        call.progress?.(...progress);
        return;
      }
      this.pending.delete(id);
      if (error) {
        const e = new Error(error.message);
        e.name = error.name === 'Error' ? 'HistosegError' : error.name;
        call.reject(e);
      } else {
        call.resolve(result);
      }
    };
    worker.onerror = (event) => {
      const e = new Error(`histoseg worker failed: ${event.message ?? 'unknown error'}`);
      for (const call of this.pending.values()) call.reject(e);
      this.pending.clear();
    };
  }

  /**
   * Sends `op` to the worker. `transfer` moves buffers instead of copying them; aborting
   * `signal` asks the worker to cancel the call (the promise then rejects with an AbortError).
   */
  request(op, args = [], progress = undefined, { transfer = [], signal } = {}) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      const cancel = () => this.worker.postMessage({ id: 0, op: 'cancel', args: [id] });
      signal?.addEventListener('abort', cancel, { once: true });
      const settle = () => signal?.removeEventListener('abort', cancel);
      this.pending.set(id, {
        resolve: (value) => { settle(); resolve(value); },
        // A run stopped by the signal fails with the worker's "cancelled": an AbortError here.
        reject: (error) => { settle(); reject(signal?.aborted ? abortError() : error); },
        progress,
      });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }
}

function abortError() {
  return new DOMException('the run was cancelled', 'AbortError');
}

/** The core's default long side of overviews (`maxSide`). */
const DEFAULT_MAX_SIDE = 2048;

/**
 * An open slide; its pixels stay in the worker until asked for. Overviews (and so regions and
 * fragments) are made in shares: the slide's worker and each helper worker, holding its own
 * copy of the slide, reduce one horizontal slice of the level at once, and the slide's worker
 * joins them, which gives exactly the overview it would have made alone.
 */
export class Slide {
  /** @type {Client[]} */
  #helpers;
  /** @type {Promise<number[]>} the slide's handle in each helper */
  #helperHandles;

  /**
   * @param {Client} client @param {any} opened
   * @param {Client[]} helpers @param {Promise<number[]>} helperHandles
   */
  constructor(client, opened, helpers = [], helperHandles = Promise.resolve([])) {
    this.client = client;
    this.handle = opened.handle;
    /** What the slide declares, as `histoseg info --json`. */
    this.info = opened.info;
    /** File name without extension: the fragments' stem. */
    this.stem = opened.stem;
    /** File size in bytes. */
    this.fileSize = opened.fileSize;
    this.#helpers = helpers;
    this.#helperHandles = helperHandles;
  }

  #call(method, ...args) {
    return this.client.request('slide', [this.handle, method, ...args]);
  }

  /** Makes the overview of `maxSide` in the slide's worker, in shares, unless it is there. */
  async #prepareOverview(maxSide) {
    if (this.#helpers.length === 0 || !Number.isInteger(maxSide) || maxSide < 1) return;
    if (await this.#call('hasOverview', maxSide)) return;
    const parts = this.#helpers.length + 1;
    const handles = this.#helperHandles;
    const [, ...shares] = await Promise.all([
      this.#call('keepOverviewPart', maxSide, 0, parts),
      ...this.#helpers.map(async (helper, k) => {
        const handle = (await handles)[k];
        return helper.request('slide', [handle, 'overviewPart', maxSide, k + 1, parts]);
      }),
    ]);
    await this.client.request('slide', [this.handle, 'joinOverview', maxSide, shares], undefined, {
      transfer: shares.map((share) => share.band.pixels.buffer),
    });
  }

  /** Bytes read from the file so far, by every worker holding the slide. */
  async bytesRead() {
    const own = await this.#call('bytesRead');
    const handles = await this.#helperHandles;
    const theirs = await Promise.all(handles.map((h, k) => this.#helpers[k].request('slide', [h, 'bytesRead'])));
    return theirs.reduce((sum, n) => sum + n, own);
  }

  /** Overview at most `maxSide` pixels on its long side (RGB). */
  async overview(maxSide = DEFAULT_MAX_SIDE) {
    await this.#prepareOverview(maxSide);
    return this.#call('overview', maxSide);
  }

  /** A region of `level` in that level's pixels (RGB). */
  readRegion(level, { x, y, w, h }) { return this.#call('readRegion', level, x, y, w, h); }

  /** Tissue regions with every stage. */
  async detectRegions(options = {}) {
    await this.#prepareOverview(options?.maxSide ?? DEFAULT_MAX_SIDE);
    return this.#call('detectRegions', options);
  }

  /**
   * Tissue inside level-0 `regions`, in level-0 pixels, found on the overview (green channel,
   * Otsu) as `histoseg predict` finds it: the area densities per mm² of tissue are taken over.
   */
  async tissueArea(regions, maxSide = DEFAULT_MAX_SIDE) {
    await this.#prepareOverview(maxSide);
    return this.#call('tissueArea', maxSide, regions);
  }

  /** Fragments as JPEG Blobs with their names and level-0 rectangles. */
  async extractFragments(options = {}, { onProgress } = {}) {
    await this.#prepareOverview(options?.maxSide ?? DEFAULT_MAX_SIDE);
    const out = await this.client.request('extract', [this.handle, options], onProgress);
    return {
      regions_level0: out.regions_level0,
      fragments: out.fragments.map(({ jpeg, ...f }) => ({
        ...f,
        blob: new Blob([jpeg], { type: 'image/jpeg' }),
      })),
    };
  }

  /** Frees the slide in its worker and in the helpers. */
  async close() {
    const handles = await this.#helperHandles.catch(() => []);
    await Promise.all(handles.map((h, k) => this.#helpers[k].request('close', [h])));
    return this.client.request('close', [this.handle]);
  }
}

function defaultWorker() {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'histoseg' });
}

/** Helper workers by default: one per further core, at most 3. */
function defaultHelpers() {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(0, Math.min(cores - 1, 3));
}

/** The library: one worker with the wasm module, and helper workers for overviews. */
/** A name for a slide of several files: their folder's (as picked), else the first file's. */
function slideNameOf(files) {
  const folder = files[0]?.webkitRelativePath?.split('/')[0];
  return folder || files[0]?.name || 'slide';
}

export class Histoseg {
  /** @param {Client} client @param {Client[]} helpers */
  constructor(client, helpers = []) {
    this.client = client;
    this.helpers = helpers;
  }

  /**
   * Starts the workers and loads the wasm module. `helpers` is the number of extra workers
   * that share overview work (default: one per further core, at most 3; 0 for none).
   */
  static async create({ worker, helpers = defaultHelpers() } = {}) {
    const client = new Client(worker ?? defaultWorker());
    const others = Array.from({ length: helpers }, () => new Client(defaultWorker()));
    const h = new Histoseg(client, others);
    [h.version] = await Promise.all([client, ...others].map((c) => c.request('version')));
    return h;
  }

  /**
   * Opens a user's File (read piece by piece in the workers, never whole), or the files of
   * one slide kept as several (an array or FileList of a DICOM slide's files, in any order;
   * a folder picked with `webkitdirectory` gives them). One file of several is one file.
   */
  async openSlide(file, name = undefined) {
    if (typeof file?.length === 'number' && !(file instanceof Blob)) {
      const files = Array.from(file);
      if (files.length === 1) [file] = files;
      else {
        file = files;
        name ??= slideNameOf(files);
      }
    }
    const label = name ?? file.name;
    // The helpers open their copies meanwhile; a failure there is the slide's own failure,
    // reported by the main worker's open.
    const helperHandles = Promise.all(this.helpers.map(
      (helper) => helper.request('open', [file, label]).then((opened) => opened.handle),
    ));
    helperHandles.catch(() => {});
    const opened = await this.client.request('open', [file, label]);
    return new Slide(this.client, opened, this.helpers, helperHandles);
  }

  #fn(name, ...args) { return this.client.request('call', [name, ...args]); }

  gaussianBlur(pixels, width, height, ksize = 5, sigma = 0) {
    return this.#fn('gaussianBlur', pixels, width, height, ksize, sigma);
  }
  sharpen(pixels, width, height) { return this.#fn('sharpen', pixels, width, height); }
  median3(pixels, width, height) { return this.#fn('median3', pixels, width, height); }
  preprocess(pixels, width, height) { return this.#fn('preprocess', pixels, width, height); }
  /** One stain alone in its own colour (`'he'` or `'hdab'` vectors; 0 haematoxylin): RGB bytes. */
  singleStain(pixels, width, height, stains = 'he', index = 0) {
    return this.#fn('singleStain', pixels, width, height, stains, index);
  }
  normalize(pixels, width, height) { return this.#fn('normalize', pixels, width, height); }
  pixelScores(predicted, truth, width, height) {
    return this.#fn('pixelScores', predicted, truth, width, height);
  }
  pixelSummary(counts) { return this.#fn('pixelSummary', counts); }
  matchPoints(predicted, truth, radius) { return this.#fn('matchPoints', predicted, truth, radius); }
  fragmentName(fragment, style = 'qupath', ext = 'jpg') {
    return this.#fn('fragmentName', fragment, style, ext);
  }
  parseFragmentName(name) { return this.#fn('parseFragmentName', name); }
  fragmentToSlide(fragment, u, v) { return this.#fn('fragmentToSlide', fragment, u, v); }
  slideToFragment(fragment, x, y) { return this.#fn('slideToFragment', fragment, x, y); }
  /**
   * `summary.csv` as `histoseg predict` writes it, of `[{slide, counts: [[class, n]],
   * tissuePixels, mpp: [x, y] | null}]`.
   */
  summaryCsv(summaries) { return this.#fn('summaryCsv', summaries); }
  readAnnotations(format, file, text) { return this.#fn('readAnnotations', format, file, text); }
  writeAnnotations(format, annotations, { slide = 'slide', width = 0, height = 0 } = {}) {
    return this.#fn('writeAnnotations', format, annotations, slide, width, height);
  }
  importMakesense(format, files, fragmentNames, { labels, manifest } = {}) {
    return this.#fn('importMakesense', format, files, fragmentNames, labels, manifest);
  }
  exportMakesense(format, fragments, { labels } = {}) {
    return this.#fn('exportMakesense', format, fragments, labels);
  }
  assignToFragments(annotations, fragmentNames) {
    return this.#fn('assignToFragments', annotations, fragmentNames);
  }

  /** Stops the workers; open slides are gone. */
  terminate() {
    for (const c of [this.client, ...this.helpers]) c.worker.terminate();
  }
}

function defaultInferenceWorker() {
  return new Worker(new URL('./inference-worker.js', import.meta.url), {
    type: 'module', name: 'histoseg-inference',
  });
}

/** The bytes of a model given as bytes, a `Blob`/`File` or a URL. */
async function modelBytes(source) {
  if (source instanceof ArrayBuffer) return source.slice(0);
  if (ArrayBuffer.isView(source)) {
    return source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength);
  }
  if (source instanceof Blob) return source.arrayBuffer();
  if (typeof source === 'string' || source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`cannot fetch the model ${source}: HTTP ${response.status}`);
    return response.arrayBuffer();
  }
  throw new TypeError('a model is an ArrayBuffer, a typed array, a Blob/File or a URL');
}

/** Pixels from an `ImageData`, a `{width, height, pixels}` picture or an image `Blob`. */
async function pixelsOf(image) {
  if (image instanceof Blob) {
    const bitmap = await createImageBitmap(image, {
      colorSpaceConversion: 'none', premultiplyAlpha: 'none',
    });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    image = context.getImageData(0, 0, canvas.width, canvas.height);
  }
  const pixels = image.pixels ?? image.data;
  if (!pixels || !image.width || !image.height) {
    throw new TypeError('an image is an ImageData, a {width, height, pixels} picture or a Blob');
  }
  return { width: image.width, height: image.height, pixels: new Uint8Array(pixels) };
}

/**
 * A nuclei segmentation model (an `.hsm` file from `histoseg export`) in its own worker, on the
 * inference bundle: WebGPU when the browser has it, burn's CPU backend otherwise.
 */
export class Model {
  /** @param {Client[]} clients @param {any[]} loaded */
  constructor(clients, loaded) {
    this.clients = clients;
    this.client = clients[0];
    this.handles = loaded.map((l) => l.handle);
    this.handle = this.handles[0];
    /** `{name, model, spec, backend, fallbackReason}`: what runs, and where. */
    this.info = loaded[0].info;
  }

  /**
   * Loads a model; `backend` is `'auto'` (default), `'webgpu'` or `'cpu'`. On the CPU backend,
   * `workers` (default 1) loads it in that many workers, which `predictSlide` runs windows in
   * at once (one a core); on WebGPU one worker serves.
   */
  static async load(source, { backend = 'auto', name, worker, workers = 1 } = {}) {
    const count = Math.max(1, Math.min(8, Math.floor(workers) || 1));
    const clients = [new Client(worker ?? defaultInferenceWorker())];
    try {
      const bytes = await modelBytes(source);
      const label = name ?? source?.name ?? (typeof source === 'string' ? source : 'model.hsm');
      const loadIn = (c) => {
        const copy = bytes.slice(0);
        return c.request('load', [copy, label, backend], undefined, { transfer: [copy] });
      };
      const first = await loadIn(clients[0]);
      // One GPU serves the windows in turn; more workers only help on the CPU backend.
      const more = first.info.backend.startsWith('cpu') ? count - 1 : 0;
      for (let i = 0; i < more; i++) clients.push(new Client(defaultInferenceWorker()));
      const rest = await Promise.all(clients.slice(1).map(loadIn));
      return new Model(clients, [first, ...rest]);
    } catch (e) {
      for (const c of clients) c.worker.terminate();
      throw e;
    }
  }

  /**
   * Probability map, mask and nuclei of an image of any size (tiled with overlap). `fragment`
   * (its file name or rectangle) adds level-0 `slideX`/`slideY` to each nucleus; `onProgress`
   * sees the tiles done; aborting `signal` cancels the run with an AbortError.
   */
  async predict(image, { fragment, onProgress, signal } = {}) {
    const picture = await pixelsOf(image);
    return this.client.request('predict', [this.handle, picture, fragment ?? null], onProgress, {
      transfer: [picture.pixels.buffer], signal,
    });
  }

  /**
   * Nuclei over `regions` (level-0 `{x, y, w, h}`) of an open `slide`, window by window: 1024 px
   * cells read at level 0 with a 64 px margin, resized to the model's resolution (the slide's
   * mpp against the model's), outlined and measured; a nucleus on a seam is kept once. Windows
   * are predicted in each of the model's workers at once (each window's pixels read in the
   * slide's worker when its turn comes), and kept in window order by the first worker.
   * `skip` holds windows already done and `known` the nuclei they kept (a resumed run);
   * `onWindow(index, nuclei, done, total)` sees each finished window's nuclei, in window order
   * (`{outline, centroid, area, perimeter, circularity, hematoxylinOd}`, level-0 pixels), and
   * may return a promise (saving them) that the next window waits for; `onTiles(done, total)`
   * sees the model's tiles. Aborting `signal` stops with an AbortError; finished windows stay
   * reported. Resolves to `{windows, nuclei}` of this call.
   */
  async predictSlide(slide, regions, { skip = [], known = [], onWindow, onTiles, signal } = {}) {
    const { width, height } = slide.info.levels[0];
    const { mpp_x: mppX, mpp_y: mppY } = slide.info;
    const mpp = [mppX ?? undefined, mppY ?? undefined];
    // Every worker plans the same windows; the first also keeps the seams (and what is known).
    const runs = await Promise.all(this.clients.map((c, i) => c.request('slideRun',
      [this.handles[i], regions, width, height, ...mpp, i === 0 ? known : []])));
    const windows = runs[0].windows;
    const done = new Set(skip);
    const todo = windows.map((_, i) => i).filter((i) => !done.has(i));
    /** Candidates of each window of `todo` once predicted. @type {Promise<any[]>[]} */
    const results = new Array(todo.length);
    let next = 0;
    /** The first failure that was not a cancellation: it stops every worker, and is reported. */
    let firstError = null;
    const failed = new AbortController();
    const stop = AbortSignal.any ? AbortSignal.any([failed.signal, ...(signal ? [signal] : [])]) : signal;
    /** One worker: takes the next window, reads it, predicts it; until none is left. */
    const work = async (j) => {
      while (next < todo.length && !stop?.aborted) {
        const k = next++;
        const index = todo[k];
        results[k] = (async () => {
          const picture = await slide.readRegion(0, windows[index].read);
          return this.clients[j].request('windowCandidates', [runs[j].run, index, picture],
            j === 0 ? onTiles : undefined, { transfer: [picture.pixels.buffer], signal: stop });
        })();
        results[k].catch((e) => {
          if (e?.name !== 'AbortError') firstError ??= e;
          failed.abort();
        });
        await results[k].catch(() => {});
      }
    };
    const workers = this.clients.map((_, j) => work(j));
    let nuclei = 0;
    try {
      for (let k = 0; k < todo.length; k++) {
        while (!results[k]) {
          if (signal?.aborted) throw abortError();
          await Promise.race([...workers, new Promise((r) => setTimeout(r, 20))]);
        }
        const candidates = await results[k].catch((e) => { throw firstError ?? e; });
        if (signal?.aborted) throw abortError();
        const kept = await this.client.request('keepCandidates', [runs[0].run, todo[k], candidates]);
        done.add(todo[k]);
        nuclei += kept.length;
        await onWindow?.(todo[k], kept, done.size, windows.length);
      }
      return { windows: todo.length, nuclei };
    } finally {
      failed.abort();
      await Promise.allSettled(workers);
      runs.forEach(({ run }, j) => this.clients[j].request('endRun', [run]).catch(() => {}));
    }
  }

  /** Frees the model and stops its workers. */
  dispose() { for (const c of this.clients) c.worker.terminate(); }
}

/** An RGB picture as an `ImageData` (RGBA) for a canvas. */
export function toImageData({ width, height, pixels }) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    rgba[j] = pixels[i];
    rgba[j + 1] = pixels[i + 1];
    rgba[j + 2] = pixels[i + 2];
    rgba[j + 3] = 255;
  }
  return new ImageData(rgba, width, height);
}
