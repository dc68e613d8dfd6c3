//! Nuclei in the browser (feature `inference`): a model file from `histoseg export` loaded from
//! bytes, run on WebGPU through burn-wgpu or on burn's CPU backend, tiled over an image of any
//! size. Nuclei come back in the image's pixels and, given the fragment, in level-0 pixels.

use std::cell::RefCell;
use std::rc::Rc;

use histoseg_core::fragment::Fragment;
use histoseg_model::device::{Backend, ComputeDevice, open_wgpu_async};
use histoseg_model::postprocess::Nucleus;
use histoseg_model::predict::{Prediction, Predictor};
use histoseg_model::weights::import_hsm;
use js_sys::{Float32Array, Object, Reflect, Uint8Array};
use serde::Serialize;
#[cfg(target_family = "wasm")]
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::pixels;
use crate::slide_run::WebSlideRun;
use crate::web::{from_js, to_js};

thread_local! {
    /// The WebGPU device, started once per worker (burn refuses a second start).
    static GPU: RefCell<Option<ComputeDevice>> = const { RefCell::new(None) };
}

/// Whether this global (window or worker) exposes `navigator.gpu`.
fn has_webgpu() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"gpu".into()))
        .is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

async fn open_gpu() -> Result<ComputeDevice, String> {
    if let Some(device) = GPU.with_borrow(Clone::clone) {
        return Ok(device);
    }
    if !has_webgpu() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let device = open_wgpu_async().await.map_err(|e| e.to_string())?;
    GPU.set(Some(device.clone()));
    Ok(device)
}

/// The device for `backend` (`auto`, `webgpu` or `cpu`) and, for `auto` on the CPU, why
/// WebGPU was not used.
async fn device_for(backend: &str) -> Result<(ComputeDevice, Option<String>), JsError> {
    let cpu = || {
        Backend::Cpu
            .open()
            .map_err(|e| JsError::new(&e.to_string()))
    };
    match backend {
        "cpu" => Ok((cpu()?, None)),
        "webgpu" => open_gpu()
            .await
            .map(|d| (d, None))
            .map_err(|e| JsError::new(&format!("WebGPU is not available: {e}"))),
        "auto" => match open_gpu().await {
            Ok(d) => Ok((d, None)),
            Err(why) => Ok((cpu()?, Some(why))),
        },
        other => Err(JsError::new(&format!(
            "backend must be 'auto', 'webgpu' or 'cpu', got '{other}'"
        ))),
    }
}

/// What a loaded model tells JavaScript.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelInfo<'a> {
    name: &'a str,
    model: &'a str,
    spec: &'a histoseg_model::weights::ModelSpec,
    backend: &'a str,
    fallback_reason: Option<&'a str>,
}

/// A nucleus with its level-0 position when the image is a known fragment.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NucleusOut<'a> {
    #[serde(flatten)]
    nucleus: &'a Nucleus,
    slide_x: Option<f64>,
    slide_y: Option<f64>,
}

/// A segmentation model loaded in this worker.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = Model))]
#[derive(Debug)]
pub struct WebModel {
    predictor: Rc<Predictor>,
    name: String,
    backend: String,
    fallback_reason: Option<String>,
}

#[cfg_attr(target_family = "wasm", wasm_bindgen(js_class = Model))]
impl WebModel {
    /// Loads an `.hsm` file's bytes (`name` labels errors) on `backend`: `"auto"` (default:
    /// WebGPU, else the CPU with the reason kept), `"webgpu"` or `"cpu"`.
    pub async fn load(
        bytes: Vec<u8>,
        name: String,
        backend: Option<String>,
    ) -> Result<WebModel, JsError> {
        let (compute, fallback_reason) = device_for(backend.as_deref().unwrap_or("auto")).await?;
        let (model, spec) =
            import_hsm(&bytes, &name, &compute.device).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(WebModel {
            predictor: Rc::new(Predictor {
                model,
                spec,
                device: compute.device,
                tta: false,
            }),
            name,
            backend: compute.description,
            fallback_reason,
        })
    }

    /// `{name, model, spec, backend, fallbackReason}`: what runs, and where.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&ModelInfo {
            name: &self.name,
            model: self.predictor.spec.config.name(),
            spec: &self.predictor.spec,
            backend: &self.backend,
            fallback_reason: self.fallback_reason.as_deref(),
        })
    }

    /// A whole-slide run over `regions` (`[{x, y, w, h}]`, level-0 pixels) of a slide of
    /// `width` x `height` level-0 pixels, `mpp_x` x `mpp_y` µm a pixel where it says
    /// (windows are resized to the model's resolution).
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = slideRun))]
    pub fn slide_run(
        &self,
        regions: JsValue,
        width: u32,
        height: u32,
        mpp_x: Option<f64>,
        mpp_y: Option<f64>,
    ) -> Result<WebSlideRun, JsError> {
        let mpp = mpp_x.map(|x| (x, mpp_y.unwrap_or(x)));
        WebSlideRun::new(Rc::clone(&self.predictor), regions, (width, height), mpp)
    }

    /// Predicts on an image (1, 3 or 4 bytes a pixel, e.g. `ImageData.data`): a promise of
    /// `{width, height, probabilities: Float32Array, mask: Uint8Array, nuclei, backend}`.
    /// `fragment` (its file name or `{source, x, y, w, h, downsample}`) adds level-0
    /// `slideX`/`slideY` to each nucleus. `on_progress(done, total)` runs after each batch of
    /// tiles; returning `false` (or a promise of it) cancels the run.
    pub fn predict(
        &self,
        pixels: Vec<u8>,
        width: u32,
        height: u32,
        fragment: JsValue,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let predictor = Rc::clone(&self.predictor);
        let backend = self.backend.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let image = pixels::rgb(&pixels, width, height).map_err(JsError::from)?;
            let fragment = fragment_of(fragment)?;
            let prediction = predictor
                .predict_async(&image, |done, total| {
                    report(on_progress.as_ref(), done, total)
                })
                .await
                .map_err(|e| JsError::new(&e.to_string()))?;
            Ok(result(&prediction, fragment.as_ref(), &backend)?)
        })
    }
}

/// The fragment a JavaScript value names: nothing, a file name or a fragment object.
fn fragment_of(value: JsValue) -> Result<Option<Fragment>, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if let Some(name) = value.as_string() {
        return Ok(Some(Fragment::parse(&name)?));
    }
    let f: Fragment = from_js(value, "fragment")?;
    Ok(Some(Fragment::new(
        f.source.clone(),
        f.rect(),
        f.downsample,
    )?))
}

/// Calls the progress callback; `false` (or a promise resolving to it) asks to cancel. A
/// callback that throws does not stop the run.
pub(crate) async fn report(callback: Option<&js_sys::Function>, done: usize, total: usize) -> bool {
    let Some(callback) = callback else {
        return true;
    };
    let Ok(value) = callback.call2(
        &JsValue::NULL,
        &(done as f64).into(),
        &(total as f64).into(),
    ) else {
        return true;
    };
    let value = match value.dyn_into::<js_sys::Promise>() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::TRUE),
        Err(value) => value,
    };
    value.as_bool() != Some(false)
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsError> {
    Reflect::set(object, &key.into(), value)
        .map(|_| ())
        .map_err(|_| JsError::new(&format!("cannot set `{key}` on the result")))
}

/// The prediction as a plain object; the maps as typed arrays (transferable, not copied twice).
fn result(p: &Prediction, fragment: Option<&Fragment>, backend: &str) -> Result<JsValue, JsError> {
    let (width, height) = p.mask.dimensions();
    let nuclei: Vec<NucleusOut> = p
        .nuclei
        .iter()
        .map(|n| {
            let slide = fragment.map(|f| f.to_slide(n.x, n.y));
            NucleusOut {
                nucleus: n,
                slide_x: slide.map(|s| s.0),
                slide_y: slide.map(|s| s.1),
            }
        })
        .collect();
    let out = Object::new();
    set(&out, "width", &width.into())?;
    set(&out, "height", &height.into())?;
    set(
        &out,
        "probabilities",
        &Float32Array::from(p.probabilities.as_raw().as_slice()).into(),
    )?;
    set(
        &out,
        "mask",
        &Uint8Array::from(p.mask.as_raw().as_slice()).into(),
    )?;
    set(&out, "nuclei", &to_js(&nuclei)?)?;
    set(&out, "backend", &backend.into())?;
    Ok(out.into())
}
