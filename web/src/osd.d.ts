// Types of the OpenSeadragon plugin (`histoseg/osd`). OpenSeadragon is passed in, not imported.
import type { Annotation, Picture, Rect, Slide } from './index.js';

/** Level-0 slide pixels to canvas pixels: `cx = scale * x + dx`, `cy = scale * y + dy`. */
export interface Transform { scale: number; dx: number; dy: number }

/** A tile source serving `slide` through the wasm reader (coarse tiles cut from one overview). */
export declare function slideTileSource(
  OpenSeadragon: any, slide: Slide, options?: { tileSize?: number; overviewSide?: number },
): Promise<any>;

export interface Overlay {
  readonly canvas: HTMLCanvasElement;
  setRegions(rects: Rect[]): void;
  setAnnotations(list: Iterable<Annotation>): void;
  setColors(byClass: Record<string, string>): void;
  redraw(): void;
  destroy(): void;
}

/** Draws regions and annotations (level-0) over the first image of an OpenSeadragon viewer. */
export declare function createOverlay(
  OpenSeadragon: any, viewer: any,
  options?: { colors?: Record<string, string>; regionColor?: string; pointRadius?: number },
): Overlay;

export declare function levelFor(levels: { downsample: number }[], downsample: number): number;
export declare function tileRect(
  width: number, height: number, tileSize: number, maxLevel: number, level: number, x: number, y: number,
): { downsample: number; tileWidth: number; tileHeight: number; rect: Rect };

/** Draws annotations culled to the canvas, batched per class; returns how many were drawn. */
export declare function drawAnnotations(
  ctx: CanvasRenderingContext2D, annotations: Iterable<Annotation>, t: Transform,
  colorOf: (cls: string) => string,
  options?: { pointRadius?: number; lineWidth?: number; hidden?: Set<string> },
): number;
export declare function drawRects(
  ctx: CanvasRenderingContext2D, rects: Rect[], t: Transform, color: string, lineWidth?: number,
): void;
export type { Picture };
