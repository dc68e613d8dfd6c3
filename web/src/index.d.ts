// Types of the histoseg browser API. Coordinates are level-0 slide pixels (x right, y down);
// boxes of `detectRegions` stages are overview pixels. Field names follow the CLI's JSON.

/** An axis-aligned rectangle in pixels. */
export interface Rect { x: number; y: number; w: number; h: number }

/** An RGB picture: `pixels.length === width * height * 3`. */
export interface Picture { width: number; height: number; pixels: Uint8Array }

export interface LevelInfo {
  width: number; height: number; downsample: number;
  tile_width: number; tile_height: number; tiled: boolean; compression: string;
}

export interface SlideInfo {
  file: string;
  vendor: 'aperio' | 'ome-tiff' | 'generic-tiff' | 'image';
  bigtiff: boolean;
  levels: LevelInfo[];
  associated: { kind: 'thumbnail' | 'label' | 'macro'; width: number; height: number; compression: string }[];
  mpp_x: number | null; mpp_y: number | null; objective_power: number | null;
}

/** Tissue detection options (defaults: the CLI's). Unknown keys are refused. */
export interface DetectOptions {
  maxSide?: number; channel?: 0 | 1 | 2; threshold?: 'otsu' | number;
  openRadius?: number; closeRadius?: number; gap?: number; minArea?: number; minTissue?: number;
}

export interface ExtractOptions extends DetectOptions {
  /** Downsample of the fragment images (default: the overview's). */
  downsample?: number;
  /** Fragments larger than this on a side are split (default 4096). */
  maxFragment?: number;
  /** JPEG quality 1-100 (default 90). */
  quality?: number;
  names?: 'qupath' | 'safe';
}

export interface Detection {
  width: number; height: number; downsample: number; threshold: number;
  /** Tissue mask, one byte a pixel (255 tissue). */
  mask: Uint8Array;
  components: Rect[]; merged: Rect[]; filtered: Rect[]; regions: Rect[];
  regions_level0: Rect[];
}

export interface Fragment { source: string; x: number; y: number; w: number; h: number; downsample: number }

export interface ExtractedFragment {
  /** File name carrying the coordinates, e.g. `slide [d=4,x=..,y=..,w=..,h=..].jpg`. */
  name: string; fragment: Fragment; width: number; height: number; blob: Blob;
}

export interface Extraction { regions_level0: Rect[]; fragments: ExtractedFragment[] }

export type Geometry =
  | { type: 'point'; x: number; y: number }
  | { type: 'rect'; x: number; y: number; w: number; h: number }
  | { type: 'polygon'; points: [number, number][] };

export interface Annotation { class: string; geometry: Geometry }
export interface TextFile { name: string; text: string }

export interface PixelCounts {
  true_positive: number; false_positive: number; false_negative: number; true_negative: number;
}
export interface PixelScores extends PixelCounts { dice: number; iou: number }
export interface PixelSummary {
  images: number; mean_dice: number; mean_iou: number; dataset_dice: number; dataset_iou: number;
}
export interface PointScores {
  pairs: [number, number][]; predicted: number; truth: number;
  precision: number; recall: number; f1: number;
}

/** Pixels: 1 (grey), 3 (RGB) or 4 (RGBA) bytes a pixel, told apart by the length. */
type Pixels = Uint8Array | Uint8ClampedArray;
type SlideFormat = 'geojson' | 'coco' | 'csv';
type MakesenseFormat = 'yolo' | 'voc' | 'csv-rects' | 'csv-points' | 'coco' | 'vgg';

export declare class Slide {
  readonly info: SlideInfo;
  readonly stem: string;
  readonly fileSize: number;
  /** Bytes read from the file so far, by every worker holding the slide. */
  bytesRead(): Promise<number>;
  overview(maxSide?: number): Promise<Picture>;
  readRegion(level: number, rect: Rect): Promise<Picture>;
  tissueArea(regions: Rect[], maxSide?: number): Promise<number>;
  detectRegions(options?: DetectOptions): Promise<Detection>;
  extractFragments(
    options?: ExtractOptions,
    callbacks?: { onProgress?: (done: number, total: number) => void },
  ): Promise<Extraction>;
  close(): Promise<boolean>;
}

export declare class Histoseg {
  /** `helpers`: extra workers sharing overview work (default: one per further core, at most 3). */
  static create(options?: { worker?: Worker; helpers?: number }): Promise<Histoseg>;
  readonly version: string;
  /** One entry per helper worker. */
  readonly helpers: readonly unknown[];
  /** One file, or the files of one slide kept as several (DICOM), in any order. */
  openSlide(file: Blob | Blob[] | FileList, name?: string): Promise<Slide>;
  gaussianBlur(pixels: Pixels, width: number, height: number, ksize?: number, sigma?: number): Promise<Uint8Array>;
  sharpen(pixels: Pixels, width: number, height: number): Promise<Uint8Array>;
  median3(pixels: Pixels, width: number, height: number): Promise<Uint8Array>;
  preprocess(pixels: Pixels, width: number, height: number): Promise<Uint8Array>;
  singleStain(pixels: Pixels, width: number, height: number, stains?: 'he' | 'hdab', index?: number): Promise<Uint8Array>;
  normalize(pixels: Pixels, width: number, height: number): Promise<Float32Array>;
  pixelScores(predicted: Uint8Array, truth: Uint8Array, width: number, height: number): Promise<PixelScores>;
  pixelSummary(counts: PixelCounts[]): Promise<PixelSummary>;
  matchPoints(predicted: [number, number][], truth: [number, number][], radius: number): Promise<PointScores>;
  fragmentName(fragment: Fragment, style?: 'qupath' | 'safe', ext?: string): Promise<string>;
  parseFragmentName(name: string): Promise<Fragment>;
  fragmentToSlide(fragment: Fragment, u: number, v: number): Promise<[number, number]>;
  slideToFragment(fragment: Fragment, x: number, y: number): Promise<[number, number]>;
  readAnnotations(format: SlideFormat, file: string, text: string): Promise<Annotation[]>;
  summaryCsv(summaries: {
    slide: string; counts: [string, number][]; tissuePixels: number; mpp: [number, number] | null;
  }[]): Promise<string>;
  writeAnnotations(format: SlideFormat, annotations: Annotation[], slide?: { slide?: string; width?: number; height?: number }): Promise<string>;
  importMakesense(format: MakesenseFormat, files: TextFile[], fragmentNames: string[], options?: { labels?: string[]; manifest?: string }): Promise<{ slides: Record<string, Annotation[]>; warnings: string[] }>;
  exportMakesense(format: MakesenseFormat, fragments: { name: string; annotations: Annotation[] }[], options?: { labels?: string[] }): Promise<TextFile[]>;
  assignToFragments(annotations: Annotation[], fragmentNames: string[]): Promise<{ placed: Record<string, Annotation[]>; left: Annotation[] }>;
  terminate(): void;
}

/** An RGB picture as an `ImageData` for a canvas. */
export declare function toImageData(picture: Picture): ImageData;

/** A nucleus found by a model, in the image's pixels (and level-0 pixels given the fragment). */
export interface Nucleus {
  x: number; y: number; area: number;
  /** `[x, y, width, height]` in image pixels. */
  bbox: [number, number, number, number];
  /** Level-0 position, when the fragment was given. */
  slideX?: number; slideY?: number;
}

export interface ModelSpec {
  config: { model: 'unet' | 'unet-resnet50'; [key: string]: unknown };
  preprocess: boolean; tile: number; threshold: number; min_area: number;
}

export interface ModelInfo {
  name: string; model: 'unet' | 'unet-resnet50'; spec: ModelSpec;
  /** What runs, e.g. `wgpu: SwiftShader on BrowserWebGpu` or `cpu: burn flex`. */
  backend: string;
  /** Why `'auto'` fell back to the CPU; absent when it did not. */
  fallbackReason?: string;
}

export interface Prediction {
  width: number; height: number;
  /** Probability of "nucleus" per pixel, row by row. */
  probabilities: Float32Array;
  /** 255 where the probability reaches the model's threshold. */
  mask: Uint8Array;
  nuclei: Nucleus[];
  backend: string;
}

/** An image to predict on: `ImageData`, an RGB(A) picture, or an image file. */
type ModelInput = ImageData | { width: number; height: number; pixels: Pixels } | Blob;

/** A model from `histoseg export`, in its own worker (the inference bundle). */
export declare class Model {
  static load(
    source: ArrayBuffer | ArrayBufferView | Blob | string | URL,
    options?: { backend?: 'auto' | 'webgpu' | 'cpu'; name?: string; worker?: Worker; workers?: number },
  ): Promise<Model>;
  readonly info: ModelInfo;
  predict(
    image: ModelInput,
    options?: {
      fragment?: string | Fragment;
      onProgress?: (done: number, total: number) => void;
      signal?: AbortSignal;
    },
  ): Promise<Prediction>;
  predictSlide(
    slide: Slide,
    regions: Rect[],
    options?: {
      skip?: number[];
      known?: { centroid: [number, number]; area: number }[];
      onWindow?: (index: number, nuclei: MeasuredNucleus[], done: number, total: number) => void | Promise<void>;
      onTiles?: (done: number, total: number) => void;
      signal?: AbortSignal;
    },
  ): Promise<{ windows: number; nuclei: number }>;
  dispose(): void;
}

/** A nucleus with its outline and measurements, in level-0 pixels. */
export interface MeasuredNucleus {
  outline: [number, number][];
  centroid: [number, number];
  /** Pixel count, in level-0 px². */
  area: number;
  perimeter: number;
  circularity: number;
  hematoxylinOd: number;
}
