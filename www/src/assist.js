// The Model panel: loads an `.hsm` model on the chosen backend in its own worker (the shipped
// default model, fetched from the page's own origin when proposals are first asked for, or the
// user's own from `histoseg export`), runs it on the current fragment with progress and cancel,
// and hands the nuclei to the proposals. A failed or cancelled run changes nothing: proposals are replaced only by a
// finished run, and annotations only change when the pathologist accepts proposals.
import { Model } from '../../web/src/index.js';

/** @typedef {import('./proposals.js').Proposals} Proposals */
/** @typedef {import('../../web/src/index.js').ExtractedFragment} ExtractedFragment */
/** @typedef {{index: number, fragment: ExtractedFragment}} Current */

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** The shipped model, served beside the page (same origin); see models/README.md. */
export const DEFAULT_MODEL_URL = new URL('../../models/nuclei-default.hsm', import.meta.url).href;
const DEFAULT_MODEL_NAME = 'the default nuclei model';

/** What a loaded model says about itself: name, architecture, backend, and any fallback. */
function describeModel(/** @type {import('../../web/src/index.js').ModelInfo} */ info) {
  const { tile, threshold } = info.spec;
  const lines = [`${info.name}: ${info.model}, ${tile} px tiles, threshold ${threshold}.`,
    `Backend: ${info.backend}.`];
  if (info.fallbackReason) lines.push(`WebGPU was not used (${info.fallbackReason}); running on the CPU.`);
  return lines.join(' ');
}

export class ModelPanel {
  /**
   * @param {{proposals: Proposals, current: () => Current|null, currentClass: () => string}} deps
   */
  constructor({ proposals, current, currentClass }) {
    this.proposals = proposals;
    this.current = current;
    this.currentClass = currentClass;
    /** @type {Model|null} */
    this.model = null;
    /** The user's model file; `null` means the default model. @type {File|null} */
    this.file = null;
    /** The run in progress. @type {AbortController|null} */
    this.controller = null;
    this.loading = false;
    this.seq = 0;
    this.#listen();
    proposals.onChange(() => this.showCounts());
    this.update();
    this.showCounts();
  }

  #listen() {
    $('model-file').addEventListener('change', (e) => {
      const file = e.target.files?.[0];
      e.target.value = '';
      if (file) {
        this.file = file;
        this.load();
      }
    });
    $('model-backend').addEventListener('change', () => { if (this.model || this.file) this.load(); });
    $('model-default').addEventListener('click', () => { this.file = null; this.load(); });
    $('model-run').addEventListener('click', () => this.run());
    $('model-cancel').addEventListener('click', () => this.cancel());
    $('proposals-accept-all').addEventListener('click', () => this.acceptAll());
    $('proposals-reject-all').addEventListener('click', () => this.rejectAll());
  }

  /** A message about loading, in the Model panel (read out); `error` shows it as one. */
  say(text, error = false) { note('model-note', text, error); }

  /** A message about runs, beside the fragment view (read out). */
  sayRun(text, error = false) { note('run-note', text, error); }

  /**
   * (Re)loads the chosen model (the user's file, else the default) on the chosen backend; a
   * newer load wins. Resolves to whether a model is loaded.
   */
  async load() {
    const file = this.file;
    const name = file ? file.name : DEFAULT_MODEL_NAME;
    const backend = $('model-backend').value;
    if (this.controller) return false; // the controls are disabled while a run goes on
    const seq = ++this.seq;
    this.model?.dispose();
    this.model = null;
    this.loading = true;
    $('model-info').textContent = '';
    this.say(`Loading ${name} (${backend})…`);
    this.update();
    try {
      const model = await Model.load(file ?? DEFAULT_MODEL_URL, { backend, name: file ? file.name : 'nuclei-default.hsm' });
      if (seq !== this.seq) { model.dispose(); return false; }
      this.model = model;
      $('model-info').textContent = describeModel(model.info);
      this.say(`Ready: ${name} is loaded.`);
      this.sayRun(`“Propose nuclei” runs ${name} on the open fragment (${model.info.backend}).`);
      return true;
    } catch (e) {
      if (seq !== this.seq) return false;
      const hint = backend === 'webgpu' ? ' Choose “auto” or “CPU” to run it on the CPU.' : '';
      this.say(`Could not load ${name}: ${messageOf(e)}${hint}`, true);
      this.sayRun('No model is loaded: see the Model panel (left).', true);
      return false;
    } finally {
      if (seq === this.seq) this.loading = false;
      this.update();
    }
  }

  /**
   * Runs the model on the current fragment (loading the default model first when none is
   * loaded); its nuclei replace the proposals when it ends.
   */
  async run() {
    if (!this.current() || this.controller || this.loading) return;
    if (!this.model && !(await this.load())) return;
    const cur = this.current();
    const model = this.model;
    if (!cur || !model || this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.update();
    this.progress(0, 0);
    const { fragment: f, index } = cur;
    this.sayRun(`Running on fragment ${index + 1} (${model.info.backend})…`);
    const t0 = performance.now();
    try {
      const p = await model.predict(f.blob, {
        fragment: f.fragment,
        signal: controller.signal,
        onProgress: (done, total) => { if (this.controller === controller) this.progress(done, total); },
      });
      if (controller.signal.aborted) throw new DOMException('cancelled', 'AbortError');
      this.proposals.set(p.nuclei, f.name, f.fragment.downsample);
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      this.sayRun(`${p.nuclei.length} nuclei proposed on fragment ${index + 1} in ${s} s (${p.backend}).`);
    } catch (e) {
      if (/** @type {any} */ (e)?.name === 'AbortError') {
        this.sayRun('Cancelled: the run was stopped; proposals and annotations are unchanged.');
      } else {
        this.sayRun(`The model failed: ${messageOf(e)}. Annotations are unchanged.`, true);
      }
    } finally {
      this.controller = null;
      $('model-progress').value = 0;
      $('model-progress-text').textContent = '';
      this.update();
    }
  }

  /** Stops the run in progress; it ends at its next batch of tiles and says it was cancelled. */
  cancel() {
    if (!this.controller || this.controller.signal.aborted) return;
    this.controller.abort();
    $('model-progress-text').textContent = 'Cancelling…';
    this.update();
  }

  /** Shows `done` of `total` tiles (total 0: starting). */
  progress(done, total) {
    const bar = $('model-progress');
    bar.max = Math.max(1, total);
    bar.value = done;
    $('model-progress-text').textContent = total
      ? `${done} / ${total} tiles (${Math.round((100 * done) / total)}%)`
      : 'Starting…';
  }

  acceptAll() {
    const n = this.proposals.accept(this.proposals.open().map((p) => p.id), this.currentClass());
    if (n) this.sayRun(`Accepted ${n} proposals as “${this.currentClass()}” (one undo step).`);
  }

  rejectAll() {
    const n = this.proposals.reject(this.proposals.open().map((p) => p.id));
    if (n) this.sayRun(`Rejected ${n} proposals.`);
  }

  /** Enables what can be used now. */
  update() {
    const running = Boolean(this.controller);
    $('model-run').disabled = running || this.loading || !this.current();
    $('model-cancel').disabled = !running || Boolean(this.controller?.signal.aborted);
    $('model-file').disabled = running;
    $('model-default').disabled = running || this.loading || (!this.file && Boolean(this.model));
    $('model-backend').disabled = running || this.loading;
    $('model-progress-row').hidden = !running;
  }

  showCounts() {
    const c = this.proposals.counts();
    $('proposal-counts').textContent = c.proposed
      ? `${c.proposed} proposed · ${c.open} left · ${c.accepted} accepted · ${c.rejected} rejected`
      : 'No proposals.';
    $('proposals-accept-all').disabled = c.open === 0;
    $('proposals-reject-all').disabled = c.open === 0;
  }

  /** Stops any run and forgets the proposals (a new slide). */
  reset() {
    this.cancel();
    this.proposals.clear();
  }
}

/** Shows `text` in the note `id`, as an error or not. */
function note(id, text, error) {
  const p = $(id);
  p.textContent = text;
  p.classList.toggle('error', error);
}

/** An error's message without a trailing full stop. */
function messageOf(e) {
  return String(e instanceof Error ? e.message : e).replace(/\.$/, '');
}
