// The Web Worker that owns the wasm module and the open slides. Messages in:
// {id, op, args}; out: {id, result} | {id, error: {name, message}} | {id, progress: [done, total]}.
// Typed arrays in results are transferred, never copied twice.
import init, * as wasm from '../pkg/histoseg_wasm.js';

const ready = init();
const slides = new Map();
let nextHandle = 1;

/** Stateless exports callable through the 'call' op. */
const FUNCTIONS = new Set([
  'version', 'gaussianBlur', 'sharpen', 'median3', 'preprocess', 'normalize',
  'pixelScores', 'pixelSummary', 'matchPoints', 'fragmentName', 'parseFragmentName',
  'fragmentToSlide', 'slideToFragment', 'readAnnotations', 'writeAnnotations',
  'importMakesense', 'exportMakesense', 'assignToFragments',
]);

/** Slide methods callable through the 'slide' op. */
const METHODS = new Set([
  'info', 'stem', 'bytesRead', 'fileSize', 'readRegion', 'overview', 'detectRegions',
]);

function transferables(value, out = []) {
  if (ArrayBuffer.isView(value)) {
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) out.push(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return out;
}

function slideOf(handle) {
  const slide = slides.get(handle);
  if (!slide) throw new Error(`slide ${handle} is closed`);
  return slide;
}

async function run(id, op, args) {
  await ready;
  switch (op) {
    case 'version':
      return wasm.version();
    case 'open': {
      const [file, name] = args;
      const slide = wasm.Slide.open(file, name ?? file.name ?? 'slide');
      const handle = nextHandle++;
      slides.set(handle, slide);
      return { handle, info: slide.info(), stem: slide.stem(), fileSize: slide.fileSize() };
    }
    case 'slide': {
      const [handle, method, ...rest] = args;
      if (!METHODS.has(method)) throw new Error(`unknown slide method '${method}'`);
      return slideOf(handle)[method](...rest);
    }
    case 'extract': {
      const [handle, options] = args;
      const progress = (done, total) => postMessage({ id, progress: [done, total] });
      return slideOf(handle).extractFragments(options, progress);
    }
    case 'close': {
      const [handle] = args;
      slides.get(handle)?.free();
      return slides.delete(handle);
    }
    case 'call': {
      const [name, ...rest] = args;
      if (!FUNCTIONS.has(name)) throw new Error(`unknown function '${name}'`);
      return wasm[name](...rest);
    }
    default:
      throw new Error(`unknown operation '${op}'`);
  }
}

self.onmessage = async (event) => {
  const { id, op, args } = event.data;
  try {
    const result = await run(id, op, args ?? []);
    postMessage({ id, result }, transferables(result));
  } catch (e) {
    const error = e instanceof Error
      ? { name: e.name, message: e.message }
      : { name: 'Error', message: String(e) };
    postMessage({ id, error });
  }
};
