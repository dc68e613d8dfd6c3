//! Nuclei over a whole slide in the browser (feature `inference`): the core's window plan and
//! seam rule ([`histoseg_model::slide::SlideRun`]) driven from JavaScript. The page reads each
//! window's level-0 pixels in the slide's worker and hands them to one of the model's workers,
//! which resizes them to the model's resolution, predicts, outlines and measures; the first
//! worker's run keeps each nucleus once, in window order.

use std::cell::RefCell;
use std::rc::Rc;

use histoseg_core::nuclei::MeasuredNucleus;
use histoseg_core::rect::Rect;
use histoseg_model::predict::Predictor;
use histoseg_model::slide::{SlideParams, SlideRun};
use serde::Deserialize;
#[cfg(target_family = "wasm")]
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsError, JsValue};

use crate::inference::report;
use crate::pixels;
use crate::web::{from_js, to_js};

/// A nucleus an earlier session kept: enough to keep it once when the run resumes.
#[derive(Deserialize)]
struct Known {
    centroid: (f64, f64),
    area: f64,
}

/// A run of one model over regions of one slide.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = SlideRun))]
#[derive(Debug)]
pub struct WebSlideRun {
    run: Rc<RefCell<SlideRun>>,
    predictor: Rc<Predictor>,
}

impl WebSlideRun {
    /// A run of `predictor` over `regions` (`[{x, y, w, h}]`, level-0 pixels) of a slide of
    /// `width` x `height` level-0 pixels and `mpp` µm a pixel (none: taken as it is).
    pub fn new(
        predictor: Rc<Predictor>,
        regions: JsValue,
        level0: (u32, u32),
        mpp: Option<(f64, f64)>,
    ) -> Result<Self, JsError> {
        let regions: Vec<Rect> = from_js(regions, "regions")?;
        let params = SlideParams::for_slide(mpp, &predictor.spec);
        let run =
            SlideRun::new(&regions, level0, &params).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Self {
            run: Rc::new(RefCell::new(run)),
            predictor,
        })
    }
}

#[cfg_attr(target_family = "wasm", wasm_bindgen(js_class = SlideRun))]
impl WebSlideRun {
    /// `[{cell, read, region}]`: each window's own cell and the rectangle it reads.
    pub fn windows(&self) -> Result<JsValue, JsError> {
        to_js(self.run.borrow().windows())
    }

    /// Tells the run of nuclei kept before (`[{centroid: [x, y], area}]`, level-0 pixels), so
    /// a resumed run does not find them again.
    pub fn remember(&self, nuclei: JsValue) -> Result<(), JsError> {
        let known: Vec<Known> = from_js(nuclei, "nuclei")?;
        let mut run = self.run.borrow_mut();
        for k in known {
            run.remember(k.centroid, k.area);
        }
        Ok(())
    }

    /// Predicts window `index` from its level-0 pixels (1, 3 or 4 bytes a pixel): a promise of
    /// its candidate nuclei, `[{outline, centroid, area, perimeter, circularity,
    /// hematoxylinOd}]` in level-0 pixels, before the seam rule, which
    /// [`keepCandidates`](Self::keep_candidates) of the run that coordinates applies (windows
    /// predicted in several workers). `on_progress(done, total)` sees the model's tiles;
    /// returning `false` cancels.
    pub fn candidates(
        &self,
        index: usize,
        pixels: Vec<u8>,
        width: u32,
        height: u32,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let run = Rc::clone(&self.run);
        let predictor = Rc::clone(&self.predictor);
        wasm_bindgen_futures::future_to_promise(async move {
            let read = run.borrow().windows().get(index).map(|w| w.read);
            let Some(read) = read else {
                return Err(JsError::new(&format!("window {index} does not exist")).into());
            };
            if (width, height) != (read.w, read.h) {
                return Err(JsError::new(&format!(
                    "window {index} reads {} x {} px, the pixels given are {width} x {height}",
                    read.w, read.h
                ))
                .into());
            }
            let image = pixels::rgb(&pixels, width, height).map_err(JsError::from)?;
            let image = run.borrow().model_image(image);
            let prediction = predictor
                .predict_async(&image, |done, total| {
                    report(on_progress.as_ref(), done, total)
                })
                .await
                .map_err(|e| JsError::new(&e.to_string()))?;
            let nuclei = run.borrow().candidates(index, &prediction.labels, &image);
            Ok(to_js(&nuclei.map_err(|e| JsError::new(&e.to_string()))?)?)
        })
    }

    /// Of window `index`'s `candidates` (from [`Self::candidates`] in any worker), the nuclei
    /// no earlier window kept. Called in window order.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = keepCandidates))]
    pub fn keep_candidates(&self, index: usize, candidates: JsValue) -> Result<JsValue, JsError> {
        let candidates: Vec<MeasuredNucleus> = from_js(candidates, "candidates")?;
        let kept = self
            .run
            .borrow_mut()
            .keep_candidates(index, candidates)
            .map_err(|e| JsError::new(&e.to_string()))?;
        to_js(&kept)
    }
}
