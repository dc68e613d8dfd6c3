// The Web Worker of the inference bundle (pkg-inference): models loaded from .hsm bytes, run on
// WebGPU (burn-wgpu) or burn's CPU backend (protocol: worker-protocol.js). Between batches of
// tiles the run yields to this worker's event loop, so a 'cancel' message is seen at once.
import init, * as wasm from '../pkg-inference/histoseg_inference.js';
import { serve } from './worker-protocol.js';

const ready = init();
const models = new Map();
const runs = new Map();
const cancelled = new Set();
let nextHandle = 1;

function modelOf(handle) {
  const model = models.get(handle);
  if (!model) throw new Error(`model ${handle} is disposed`);
  return model;
}

function runOf(handle) {
  const slideRun = runs.get(handle);
  if (!slideRun) throw new Error(`slide run ${handle} has ended`);
  return slideRun;
}

async function run(id, op, args) {
  await ready;
  switch (op) {
    case 'version':
      return wasm.version();
    case 'load': {
      const [bytes, name, backend] = args;
      const model = await wasm.Model.load(new Uint8Array(bytes), name, backend);
      const handle = nextHandle++;
      models.set(handle, model);
      return { handle, info: model.info() };
    }
    case 'predict': {
      const [handle, image, fragment] = args;
      const model = modelOf(handle);
      const progress = (done, total) => {
        postMessage({ id, progress: [done, total] });
        return new Promise((resolve) => setTimeout(() => resolve(!cancelled.has(id)), 0));
      };
      try {
        return await model.predict(image.pixels, image.width, image.height, fragment, progress);
      } finally {
        cancelled.delete(id);
      }
    }
    case 'slideRun': {
      const [handle, regions, width, height, mppX, mppY, known] = args;
      const slideRun = modelOf(handle).slideRun(regions, width, height, mppX, mppY);
      if (known?.length) slideRun.remember(known);
      const run = nextHandle++;
      runs.set(run, slideRun);
      return { run, windows: slideRun.windows() };
    }
    case 'windowCandidates': {
      const [run, index, image] = args;
      const progress = (done, total) => {
        postMessage({ id, progress: [done, total] });
        return new Promise((resolve) => setTimeout(() => resolve(!cancelled.has(id)), 0));
      };
      try {
        return await runOf(run).candidates(index, image.pixels, image.width, image.height, progress);
      } finally {
        cancelled.delete(id);
      }
    }
    case 'keepCandidates': {
      const [run, index, candidates] = args;
      return runOf(run).keepCandidates(index, candidates);
    }
    case 'endRun': {
      runs.get(args[0])?.free();
      return runs.delete(args[0]);
    }
    case 'cancel':
      cancelled.add(args[0]);
      return true;
    case 'dispose': {
      const [handle] = args;
      models.get(handle)?.free();
      return models.delete(handle);
    }
    default:
      throw new Error(`unknown operation '${op}'`);
  }
}

serve(run);
