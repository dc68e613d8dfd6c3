// The OpenSeadragon demo (www/osd.html): an existing viewer, and the histoseg plugin added in
// a few lines. A file of its own so that the page's Content-Security-Policy needs no inline script.
import { Histoseg } from '../../web/src/index.js';
import { slideTileSource, createOverlay } from '../../web/src/osd.js';
import { load, slideKey } from './store.js';

// An existing viewer, set up as usual ...
const viewer = OpenSeadragon({
  id: 'viewer',
  prefixUrl: 'node_modules/openseadragon/build/openseadragon/images/',
  showNavigator: true,
  drawer: 'canvas',
});

// ... and the histoseg plugin added in a few lines: a tile source over the local file and an
// overlay with the tissue regions and the annotations saved by the annotation page.
const histoseg = await Histoseg.create();
const overlay = createOverlay(OpenSeadragon, viewer);
document.querySelector('#file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  const slide = await histoseg.openSlide(file);
  viewer.open(await slideTileSource(OpenSeadragon, slide));
  overlay.setRegions((await slide.detectRegions()).regions_level0);
  const saved = await load((await slideKey(file)).key);
  if (saved) {
    overlay.setColors(Object.fromEntries(saved.classes.map((c) => [c.name, c.color])));
    overlay.setAnnotations(saved.annotations);
  }
  document.querySelector('#state').textContent =
    `${file.name}: ${saved?.annotations.length ?? 0} saved annotations`;
});
window.demo = { viewer, overlay, histoseg };
