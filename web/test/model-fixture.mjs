// A small real model for the browser tests: a slim U-Net trained for two epochs on two TNBC
// slides by the native CLI (`histoseg dataset build`, `train`, `export`), about a minute on the
// CPU. Shared by the package's inference tests and the annotation page's tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Trains and exports the model under `dir`; returns the `.hsm` path. */
export function trainSmallModel(cli, data, dir) {
  const run = (...args) => execFileSync(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tnbc = join(dir, 'tnbc');
  mkdirSync(tnbc, { recursive: true });
  for (const n of ['02', '06']) {
    for (const kind of ['Slide', 'GT']) {
      symlinkSync(join(data, 'tnbc', `${kind}_${n}`), join(tnbc, `${kind}_${n}`));
    }
  }
  const dataset = join(dir, 'ds');
  run('dataset', 'build', tnbc, '--layout', 'tnbc', '--scheme', '128p64s', '--drop-empty',
    '--test-groups', 'Slide_06', '--quiet', '-o', dataset);
  const runDir = join(dir, 'run');
  run('train', '--model', 'unet', '--slim', '8', '--device', 'cpu', '--batch', '4', '--lr', '0.01',
    '--epochs', '2', '--quiet', '--data', dataset, '-o', runDir);
  const model = join(dir, 'model.hsm');
  run('export', runDir, '-o', model);
  return model;
}
