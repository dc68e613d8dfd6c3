// The Model panel: loads an `.hsm` model on the chosen backend in its own worker (the shipped
// default model, fetched from the page's own origin when proposals are first asked for, or the
// user's own from `histoseg export`) and runs it over the open fragment, the selected
// rectangles or all the tissue: window by window at level 0 and at the model's resolution,
// with progress, pause, cancel and resume. Each finished window's nuclei join the proposals
// and are saved with the run (IndexedDB), so a reload resumes without redoing finished
// windows. Annotations only change when the pathologist accepts proposals.
import { Model } from '../../web/src/index.js';
import { Autosaver, PROPOSALS, load as loadSaved } from './store.js';

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

/**
 * What a run covers and how far it got: saved with its proposals.
 * @typedef {{model: string, what: string, regions: {x: number, y: number, w: number, h: number}[],
 *   done: number[], total: number}} Run
 */

export class ModelPanel {
  /**
   * @param {{proposals: Proposals, current: () => Current|null, currentClass: () => string,
   *   slide: () => any, slideKey: () => string|null, tissue: () => Run['regions'],
   *   selection: () => Run['regions']}} deps
   */
  constructor({ proposals, current, currentClass, slide, slideKey, tissue, selection }) {
    this.proposals = proposals;
    this.current = current;
    this.currentClass = currentClass;
    this.slide = slide;
    this.slideKey = slideKey;
    this.tissue = tissue;
    this.selection = selection;
    /** @type {Model|null} */
    this.model = null;
    /** The user's model file; `null` means the default model. @type {File|null} */
    this.file = null;
    /** The run in progress. @type {AbortController|null} */
    this.controller = null;
    /** Why the run in progress is being stopped. @type {'pause'|'cancel'|null} */
    this.stopping = null;
    /** The last run, finished or not. @type {Run|null} */
    this.job = null;
    this.loading = false;
    /** While a slide changes: no saves. */
    this.holding = false;
    this.seq = 0;
    this.saver = new Autosaver(PROPOSALS);
    this.saver.onError = (e) => this.sayRun(`The proposals could not be saved: ${messageOf(e)}. `
      + 'They stay in this tab; annotations are saved on their own.', true);
    this.#listen();
    proposals.onChange(() => { this.showCounts(); this.save(); });
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
    $('model-resume').addEventListener('click', () => this.resume());
    $('model-pause').addEventListener('click', () => this.stop('pause'));
    $('model-cancel').addEventListener('click', () => this.stop('cancel'));
    $('proposals-accept-all').addEventListener('click', () => this.acceptAll());
    $('proposals-min-area').addEventListener('input', () => this.filter());
    $('proposals-reject-all').addEventListener('click', () => this.rejectAll());
  }

  /** A message about loading, in the Model panel (read out); `error` shows it as one. */
  say(text, error = false) { note('model-note', text, error); }

  /** A message about runs, beside the fragment view (read out). */
  sayRun(text, error = false) { note('run-note', text, error); }

  /** The loaded model's name, as runs record it. */
  modelName() { return this.file ? this.file.name : 'nuclei-default.hsm'; }

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
      // On the CPU, windows run in one worker a core, leaving one for the page and the slide.
      const workers = Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1));
      const model = await Model.load(file ?? DEFAULT_MODEL_URL, { backend, name: this.modelName(), workers });
      if (seq !== this.seq) { model.dispose(); return false; }
      this.model = model;
      $('model-info').textContent = describeModel(model.info);
      this.say(`Ready: ${name} is loaded.`);
      if (!this.job) this.sayRun(`“Propose nuclei” runs ${name} (${model.info.backend}).`);
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

  /** The regions of the chosen scope (level-0 pixels) and how to name them. */
  scope() {
    const scope = $('model-scope').value;
    if (scope === 'tissue') {
      const regions = this.tissue();
      return { regions, what: `the tissue (${regions.length} region${regions.length === 1 ? '' : 's'})` };
    }
    if (scope === 'selection') {
      const regions = this.selection();
      return { regions, what: `the selection (${regions.length} rectangle${regions.length === 1 ? '' : 's'})` };
    }
    const cur = this.current();
    if (!cur) return { regions: [], what: 'no fragment' };
    const { x, y, w, h } = cur.fragment.fragment;
    return { regions: [{ x, y, w, h }], what: `fragment ${cur.index + 1}` };
  }

  /**
   * Starts a run over the chosen scope (loading the default model first when none is loaded),
   * asking before it replaces the proposals of an earlier run.
   */
  async run() {
    if (!this.slide() || this.controller || this.loading) return;
    const { regions, what } = this.scope();
    if (!regions.length) {
      const hint = $('model-scope').value === 'selection'
        ? 'Select one or more rectangles first (select tool).' : 'There is nothing to run on.';
      this.sayRun(hint, true);
      return;
    }
    const n = this.proposals.list.length;
    if (n && !window.confirm(`Replace the ${n} proposals of the last run? Accepted ones stay annotations.`)) return;
    if (!this.model && !(await this.load())) return;
    this.job = { model: this.modelName(), what, regions, done: [], total: 0 };
    this.proposals.clear();
    await this.#go();
  }

  /** Continues the last run where it stopped (after a pause, a failure or a reload). */
  async resume() {
    const job = this.job;
    if (!job || this.controller || this.loading || !this.slide()) return;
    if (!this.model && !(await this.load())) return;
    if (job.model !== this.modelName()) {
      this.sayRun(`This run was made with ${job.model}; load it to resume, or start a new run.`, true);
      return;
    }
    await this.#go();
  }

  /** Runs the windows of `this.job` not done yet. */
  async #go() {
    const job = /** @type {Run} */ (this.job);
    const model = /** @type {Model} */ (this.model);
    const controller = new AbortController();
    this.controller = controller;
    this.stopping = null;
    this.update();
    this.progress(job.done.length, job.total, 0);
    this.sayRun(`Running on ${job.what} (${model.info.backend})…`);
    const t0 = performance.now();
    const before = job.done.length;
    try {
      await model.predictSlide(this.slide(), job.regions, {
        skip: job.done,
        known: this.proposals.list.map((p) => ({ centroid: [p.x, p.y], area: p.area })),
        signal: controller.signal,
        onWindow: (index, nuclei, done, total) => {
          job.done.push(index);
          job.total = total;
          this.proposals.add(nuclei); // saves the run with them
          const perWindow = (performance.now() - t0) / (done - before);
          this.progress(done, total, perWindow * (total - done));
          return this.saver.idle;
        },
        onTiles: (done, total) => { if (this.controller === controller) this.tiles(done, total); },
      });
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      this.sayRun(`${this.proposals.list.length} nuclei proposed on ${job.what} in ${s} s (${model.info.backend}).`);
    } catch (e) {
      if (/** @type {any} */ (e)?.name !== 'AbortError') {
        this.sayRun(`The model failed: ${messageOf(e)}. The windows done are kept; “Resume” retries. Annotations are unchanged.`, true);
      } else if (this.stopping === 'cancel') {
        this.job = null;
        this.proposals.clear();
        this.sayRun('Cancelled: the run was stopped and its proposals dropped; annotations are unchanged.');
      } else {
        this.sayRun(`Paused after ${job.done.length} of ${job.total || '?'} windows: “Resume” continues, also after a reload.`);
      }
    } finally {
      this.controller = null;
      this.stopping = null;
      $('model-progress').value = 0;
      $('model-progress-text').textContent = '';
      this.save();
      this.update();
    }
  }

  /** Stops the run in progress after its current batch of tiles: paused, or cancelled. */
  stop(/** @type {'pause'|'cancel'} */ why) {
    if (!this.controller || this.controller.signal.aborted) return;
    this.stopping = why;
    this.controller.abort();
    $('model-progress-text').textContent = why === 'pause' ? 'Pausing…' : 'Cancelling…';
    this.update();
  }

  /** Saves the run and its proposals with the slide (queued; the newest state lands last). */
  save() {
    const key = this.slideKey();
    if (!key || this.holding) return;
    this.saver.save({ key, run: this.job, proposals: this.proposals.plain(), updated: Date.now() });
  }

  /** Brings back the run and proposals saved for the slide `key`; says what is left to do. */
  async restore(/** @type {string} */ key) {
    this.holding = true;
    const saved = await loadSaved(key, PROPOSALS);
    this.job = saved?.run ?? null;
    this.proposals.restore(saved?.proposals ?? []);
    this.holding = false;
    const job = this.job;
    if (job && job.done.length < job.total) {
      this.sayRun(`A run on ${job.what} stopped after ${job.done.length} of ${job.total} windows: “Resume” continues it.`);
    }
    this.update();
  }

  /** Shows `done` of `total` windows and the time left (total 0: starting). */
  progress(done, total, msLeft) {
    const bar = $('model-progress');
    bar.max = Math.max(1, total);
    bar.value = done;
    const left = msLeft > 0 ? `, about ${Math.ceil(msLeft / 1000)} s left` : '';
    $('model-progress-text').textContent = total
      ? `${done} / ${total} windows · ${this.proposals.list.length} nuclei${left}`
      : 'Starting…';
  }

  /** Shows the model's tiles of the window in progress. */
  tiles(done, total) {
    $('model-tiles').textContent = total ? `window: ${done} / ${total} tiles` : '';
  }

  /** The proposals "Accept all" and "Reject all" decide: those shown, in the selected rectangles if any. */
  #batch() {
    const rects = this.selection();
    const within = (p) => rects.some((r) => p.x >= r.x && p.y >= r.y && p.x < r.x + r.w && p.y < r.y + r.h);
    const list = this.proposals.shown().filter((p) => !rects.length || within(p));
    return { ids: list.map((p) => p.id), where: rects.length ? ' in the selection' : '' };
  }

  acceptAll() {
    const { ids, where } = this.#batch();
    const n = this.proposals.accept(ids, this.currentClass());
    if (n) this.sayRun(`Accepted ${n} proposals${where} as “${this.currentClass()}” (one undo step).`);
  }

  rejectAll() {
    const { ids, where } = this.#batch();
    const n = this.proposals.reject(ids);
    if (n) this.sayRun(`Rejected ${n} proposals${where}.`);
  }

  /** The review filter: the smallest area, in µm² where the slide says its pixel size, else px². */
  filter() {
    const v = Number($('proposals-min-area').value) || 0;
    const info = this.slide()?.info;
    const px = info?.mpp_x ? v / (info.mpp_x * (info.mpp_y ?? info.mpp_x)) : v;
    this.proposals.setMinArea(px);
  }

  /** Enables what can be used now. */
  update() {
    this.showCounts();
    const running = Boolean(this.controller);
    const stopping = !running || Boolean(this.controller?.signal.aborted);
    const job = this.job;
    const unfinished = Boolean(job) && (job.total === 0 || job.done.length < job.total);
    $('model-run').disabled = running || this.loading || !this.slide();
    $('model-resume').hidden = running || !unfinished;
    $('model-resume').disabled = running || this.loading || !unfinished;
    if (job) $('model-resume').textContent = `Resume (${job.done.length} / ${job.total || '?'} windows)`;
    $('model-pause').disabled = stopping;
    $('model-cancel').disabled = stopping;
    $('model-file').disabled = running;
    $('model-default').disabled = running || this.loading || (!this.file && Boolean(this.model));
    $('model-backend').disabled = running || this.loading;
    $('model-progress-row').hidden = !running;
  }

  showCounts() {
    const c = this.proposals.counts();
    const hidden = c.hidden ? ` (${c.hidden} under the smallest area)` : '';
    $('proposal-counts').textContent = c.proposed
      ? `${c.proposed} proposed · ${c.open} left${hidden} · ${c.accepted} accepted · ${c.rejected} rejected`
      : 'No proposals.';
    const none = c.open - c.hidden === 0;
    $('proposals-accept-all').disabled = none;
    $('proposals-reject-all').disabled = none;
    const where = this.selection().length ? ' in selection' : '';
    $('proposals-accept-all').textContent = `Accept all${where}`;
    $('proposals-reject-all').textContent = `Reject all${where}`;
  }

  /** Stops any run and forgets the run and proposals (a new slide); nothing saved is lost. */
  async reset() {
    this.holding = true; // until `restore`: the next slide's record is not overwritten
    const controller = this.controller;
    if (controller) {
      this.stop('pause');
      while (this.controller === controller) await new Promise((r) => setTimeout(r, 20));
    }
    await this.saver.idle;
    this.job = null;
    this.proposals.restore([]);
    this.update();
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
