// The Web Worker that owns the core wasm module and the open slides (protocol:
// worker-protocol.js).
import init, * as wasm from '../pkg/histoseg_wasm.js';
import { serve } from './worker-protocol.js';

const ready = init();
const slides = new Map();
let nextHandle = 1;

/** Stateless exports callable through the 'call' op. */
const FUNCTIONS = new Set([
  'version', 'gaussianBlur', 'sharpen', 'median3', 'preprocess', 'normalize',
  'pixelScores', 'pixelSummary', 'matchPoints', 'fragmentName', 'parseFragmentName',
  'fragmentToSlide', 'slideToFragment', 'readAnnotations', 'writeAnnotations',
  'importMakesense', 'exportMakesense', 'assignToFragments', 'summaryCsv',
  'singleStain',
]);

/** Slide methods callable through the 'slide' op. */
const METHODS = new Set([
  'info', 'stem', 'bytesRead', 'fileSize', 'readRegion', 'overview', 'detectRegions',
  'hasOverview', 'overviewPart', 'keepOverviewPart', 'joinOverview', 'tissueArea',
]);

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
      // Several files are one slide kept as files (DICOM: one a level or associated image).
      const slide = Array.isArray(file)
        ? wasm.Slide.openFiles(file, file.map((f) => f.name ?? 'file'), name ?? file[0]?.name ?? 'slide')
        : wasm.Slide.open(file, name ?? file.name ?? 'slide');
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

serve(run);
