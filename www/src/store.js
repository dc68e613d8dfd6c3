// Autosave: one IndexedDB record per slide, identified by its name, size and the SHA-256 of its
// first megabyte (read locally with crypto.subtle; nothing leaves the page), in two stores: the
// annotations (`slides`) and the model's run with its proposals (`proposals`), so the frequent
// saves of a run never rewrite the annotations. Saves are queued so the newest state always
// lands last.

const DB = 'histoseg';
const SLIDES = 'slides';
/** The store of model runs: `{key, run, proposals, updated}`. */
export const PROPOSALS = 'proposals';

/**
 * @typedef {{key: string, name: string, size: number, hash: string, annotations: any[],
 *   classes: {name: string, color: string}[], updated: number}} SlideRecord
 */

/**
 * The identity of a local file: `name|size|sha256(first MiB)`.
 * @param {File} file
 */
export async function slideKey(file) {
  const head = await file.slice(0, 1 << 20).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', head));
  const hash = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  return { key: `${file.name}|${file.size}|${hash}`, name: file.name, size: file.size, hash };
}

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 2);
    req.onupgradeneeded = () => {
      for (const store of [SLIDES, PROPOSALS]) {
        if (!req.result.objectStoreNames.contains(store)) req.result.createObjectStore(store, { keyPath: 'key' });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let db;
const database = () => (db ??= open());

/**
 * @template T
 * @param {'readonly'|'readwrite'} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} action
 * @returns {Promise<T>}
 */
async function request(mode, action, store = SLIDES) {
  const tx = (await database()).transaction(store, mode);
  const req = action(tx.objectStore(store));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** @param {string} key @returns {Promise<SlideRecord|undefined>} */
export function load(key, store = SLIDES) {
  return request('readonly', (s) => s.get(key), store);
}

/** Every saved slide, newest first (without their annotations' bodies). */
export async function list() {
  const all = await request('readonly', (s) => s.getAll());
  return all
    .map(({ key, name, size, annotations, updated }) => ({ key, name, size, count: annotations.length, updated }))
    .sort((a, b) => b.updated - a.updated);
}

/** @param {string} key */
export function remove(key) {
  return request('readwrite', (s) => s.delete(key));
}

/**
 * Writes records one after another; a newer record replaces one still waiting.
 */
export class Autosaver {
  constructor(store = SLIDES) {
    this.store = store;
    /** @type {SlideRecord|null} */
    this.waiting = null;
    this.running = null;
    /** Resolves when everything asked so far is written. */
    this.idle = Promise.resolve();
    this.onSaved = () => {};
    this.onError = (e) => console.error(e);
  }

  /** @param {SlideRecord} record */
  save(record) {
    this.waiting = record;
    if (!this.running) this.idle = this.running = this.#drain();
    return this.idle;
  }

  async #drain() {
    while (this.waiting) {
      const record = this.waiting;
      this.waiting = null;
      try {
        await request('readwrite', (s) => s.put(record), this.store);
        this.onSaved(record);
      } catch (e) {
        this.onError(e);
      }
    }
    this.running = null;
  }
}
