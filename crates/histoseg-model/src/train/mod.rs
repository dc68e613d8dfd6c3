//! The training loop: epochs over a built dataset with D4 augmentation, validation on held-out
//! source images, learning rate halved on a validation-loss plateau, early stopping, a
//! checkpoint every epoch plus the best by validation Dice, `metrics.csv`, and resume.
//!
//! A run folder holds `options.json`, `state.json`, `metrics.csv`, `last.hsm` and `best.hsm`.

pub mod data;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::optim::{
    AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig, momentum::MomentumConfig,
};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use histoseg_core::dataset::split::Split;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::loss::LossKind;
use crate::segmenter::{ModelConfig, Segmenter};
use crate::weights::{ModelSpec, load_hsm, load_torchvision_resnet, save_hsm};
use data::{BatchOptions, Loader, Sample};

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (default learning rate 1e-3).
    Adam,
    /// SGD with momentum 0.9 (the paper's choice; it started at 0.1).
    Sgd,
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "adam" => Ok(Self::Adam),
            "sgd" => Ok(Self::Sgd),
            other => Err(format!("unknown optimizer {other:?}: expected adam or sgd")),
        }
    }
}

/// Everything a run is started with; saved as `options.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The dataset folders (made by `histoseg dataset build`), trained on together. Older runs
    /// saved one folder; it reads as a list of one.
    #[serde(deserialize_with = "one_or_many")]
    pub data: Vec<PathBuf>,
    /// A model file whose weights start the run (fine-tuning); its architecture is the run's.
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// Strength of the H&E colour augmentation (0: off, 1: Tellez et al.'s light ranges).
    #[serde(default)]
    pub stain_jitter: f64,
    /// Architecture.
    pub model: ModelConfig,
    /// Maximum epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Starting learning rate.
    pub lr: f64,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Loss.
    pub loss: LossKind,
    /// Weight the cross-entropy with the U-Net weight map (w0 = 10, sigma = 5).
    pub weight_map: bool,
    /// torchvision ResNet-50 weights for the encoder.
    pub encoder_weights: Option<PathBuf>,
    /// Seed of initialisation, validation hold-out, shuffling and augmentation.
    pub seed: u64,
    /// Share of training source images held out for validation.
    pub valid_fraction: f64,
    /// Epochs without validation-loss improvement before the learning rate is halved.
    pub plateau_patience: usize,
    /// Epochs without validation-Dice improvement before training stops.
    pub early_stop_patience: usize,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}

/// Where a run stands; saved as `state.json` after every epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Current learning rate.
    pub lr: f64,
    /// Best validation Dice so far.
    pub best_dice: f64,
    /// Epoch of the best validation Dice.
    pub best_epoch: usize,
    /// Lowest validation loss so far.
    pub best_loss: f64,
    /// Epochs since the validation loss last improved.
    pub since_loss_improved: usize,
    /// Epochs since the validation Dice last improved.
    pub since_dice_improved: usize,
    /// Training stopped early.
    pub stopped_early: bool,
}

/// One row of `metrics.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training pixel Dice (augmented batches, training-mode batch norm).
    pub train_dice: f64,
    /// Training pixel IoU.
    pub train_iou: f64,
    /// Mean validation loss.
    pub valid_loss: f64,
    /// Validation pixel Dice over all validation pixels.
    pub valid_dice: f64,
    /// Validation pixel IoU.
    pub valid_iou: f64,
    /// Learning rate used in this epoch.
    pub lr: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
}

/// What the loop reports as it goes.
pub trait Observer {
    /// Called once before training with the device description and sample counts.
    fn start(&mut self, _device: &str, _train: usize, _valid: usize) {}
    /// Called after each training batch.
    fn batch(&mut self, _epoch: usize, _done: usize, _total: usize, _loss: f64) {}
    /// Called after each epoch.
    fn epoch(&mut self, _record: &EpochRecord) {}
}

/// Sums for pixel Dice and IoU and the loss over a pass.
#[derive(Default)]
struct PassTotals {
    loss: f64,
    batches: usize,
    intersection: f64,
    predicted: f64,
    truth: f64,
}

impl PassTotals {
    fn add(&mut self, logits: Tensor<4>, target: Tensor<4>, loss: f64) {
        let predicted = sigmoid(logits).greater_elem(0.5).float();
        let stats = Tensor::cat(
            vec![
                (predicted.clone() * target.clone()).sum(),
                predicted.sum(),
                target.sum(),
            ],
            0,
        );
        let v: Vec<f32> = stats.into_data().try_into_vec::<f32>().unwrap_or_default();
        if let [i, p, t] = v[..] {
            self.intersection += f64::from(i);
            self.predicted += f64::from(p);
            self.truth += f64::from(t);
        }
        self.loss += loss;
        self.batches += 1;
    }

    fn dice(&self) -> f64 {
        let d = self.predicted + self.truth;
        if d == 0.0 {
            1.0
        } else {
            2.0 * self.intersection / d
        }
    }

    fn iou(&self) -> f64 {
        let u = self.predicted + self.truth - self.intersection;
        if u == 0.0 { 1.0 } else { self.intersection / u }
    }

    fn mean_loss(&self) -> f64 {
        self.loss / self.batches.max(1) as f64
    }
}

fn tensors(batch: &data::Batch, device: &Device) -> (Tensor<4>, Tensor<4>, Option<Tensor<4>>) {
    let [n, h, w] = batch.dims;
    let t =
        |v: &Vec<f32>, c| Tensor::<4>::from_data(TensorData::new(v.clone(), [n, c, h, w]), device);
    (
        t(&batch.images, 3),
        t(&batch.masks, 1),
        batch.weights.as_ref().map(|v| t(v, 1)),
    )
}

fn optimizer(kind: OptimizerKind) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Adam => AdamConfig::new().init(),
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum(Some(MomentumConfig::new().with_dampening(0.0)))
            .init(),
    }
}

fn io(file: &Path) -> impl Fn(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        file: file.into(),
        source,
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| ModelError::Input(e.to_string()))?;
    std::fs::write(path, text).map_err(io(path))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| ModelError::Input(format!("{}: {e}", path.display())))
}

/// The spec saved with checkpoints: how to run the model on new images. The datasets must
/// agree on preprocessing; the tile is the largest patch side among them.
pub fn spec_for(options: &TrainOptions) -> Result<ModelSpec> {
    let first = options
        .data
        .first()
        .ok_or_else(|| ModelError::Config("no dataset given".into()))?;
    let prep = data::read_manifest(first)?.prep;
    let mut tile = 32;
    for dir in &options.data {
        let manifest = data::read_manifest(dir)?;
        if manifest.prep != prep {
            return Err(ModelError::Input(format!(
                "{} was built {} the paper's preprocessing but {} {}: build both the same way",
                dir.display(),
                if manifest.prep { "with" } else { "without" },
                first.display(),
                if prep { "with it" } else { "without it" },
            )));
        }
        let side = manifest.samples.first().map(|s| s.rect.w.max(s.rect.h));
        tile = tile.max(side.unwrap_or(256));
    }
    Ok(ModelSpec {
        config: options.model.clone(),
        preprocess: prep,
        tile,
        threshold: 0.5,
        min_area: 10,
        split_depth: crate::weights::default_split_depth(),
        mpp: None,
    })
}

/// Trains a new run in `run_dir` (which must not hold one yet) or, with `resume`, continues
/// the run there from its last checkpoint. Returns the final state.
pub fn train(
    options: &TrainOptions,
    run_dir: &Path,
    device: &crate::device::ComputeDevice,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<RunState> {
    options.model.validate()?;
    if options.batch == 0 || options.epochs == 0 || options.lr.is_nan() || options.lr <= 0.0 {
        return Err(ModelError::Config(
            "epochs, batch and learning rate must be positive".into(),
        ));
    }
    std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;
    let (state_path, metrics_path) = (run_dir.join("state.json"), run_dir.join("metrics.csv"));
    let autodiff = device.device.clone().autodiff();
    let spec = spec_for(options)?;

    let (mut model, mut state) = if resume {
        let state: RunState = read_json(&state_path)?;
        let (model, _) = load_hsm(&run_dir.join("last.hsm"), &device.device)?;
        (model.train().fork(&autodiff), state)
    } else {
        if state_path.exists() {
            return Err(ModelError::Input(format!(
                "{} already holds a run: resume it with --resume or choose another folder",
                run_dir.display()
            )));
        }
        autodiff.seed(options.seed);
        let mut model = match &options.init {
            Some(path) => {
                let (model, spec) = load_hsm(path, &device.device)?;
                if spec.config != options.model {
                    return Err(ModelError::Config(format!(
                        "{} is a {} of another shape than the run asks for",
                        path.display(),
                        spec.config.name()
                    )));
                }
                model.train().fork(&autodiff)
            }
            None => options.model.init(&autodiff)?,
        };
        if let Some(path) = &options.encoder_weights {
            match &mut model {
                Segmenter::UNetResNet(m) => {
                    load_torchvision_resnet(&mut m.encoder, path)?;
                }
                Segmenter::UNet(_) => {
                    return Err(ModelError::Config(
                        "--encoder-weights needs --model unet-resnet50".into(),
                    ));
                }
            }
        }
        write_json(&run_dir.join("options.json"), options)?;
        let mut csv = std::fs::File::create(&metrics_path).map_err(io(&metrics_path))?;
        writeln!(csv, "epoch,train_loss,train_dice,train_iou,valid_loss,valid_dice,valid_iou,lr,seconds,images_per_second")
            .map_err(io(&metrics_path))?;
        (
            model,
            RunState {
                lr: options.lr,
                best_loss: f64::INFINITY,
                ..RunState::default()
            },
        )
    };

    let mut samples = Vec::new();
    for dir in &options.data {
        let found = data::load_split(dir, Split::Train)?;
        if found.is_empty() {
            return Err(ModelError::Input(format!(
                "{}: no training samples",
                dir.display()
            )));
        }
        samples.extend(found);
    }
    let (train_set, valid_set) = data::hold_out(samples, options.valid_fraction, options.seed);
    observer.start(&device.description, train_set.len(), valid_set.len());
    let (train_set, valid_set): (Arc<Vec<Sample>>, Arc<Vec<Sample>>) =
        (Arc::new(train_set), Arc::new(valid_set));
    let weight_map = options.weight_map.then_some((10.0, 5.0));
    let mut optim = optimizer(options.optimizer);

    while state.epochs_done < options.epochs && !state.stopped_early {
        let epoch = state.epochs_done + 1;
        let started = Instant::now();
        let loader = Loader::start(
            train_set.clone(),
            BatchOptions {
                batch: options.batch,
                augment: true,
                stain_jitter: options.stain_jitter,
                weight_map,
                seed: options.seed ^ (epoch as u64 * 0x9E37),
            },
        );
        let total = loader.batches;
        let mut train = PassTotals::default();
        for (i, batch) in loader.enumerate() {
            let (x, y, w) = tensors(&batch?, &autodiff);
            let logits = model.forward(x);
            let loss = options.loss.compute(logits.clone(), y.clone(), w);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(ModelError::Input(format!(
                    "epoch {epoch}: the loss became {value}; lower --lr"
                )));
            }
            train.add(logits.detach(), y, value);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(state.lr, model, grads);
            observer.batch(epoch, i + 1, total, value);
        }
        let train_seconds = started.elapsed().as_secs_f64();

        let inference = model.valid();
        let mut valid = PassTotals::default();
        let loader = Loader::start(
            valid_set.clone(),
            BatchOptions {
                batch: options.batch,
                augment: false,
                stain_jitter: 0.0,
                weight_map,
                seed: 0,
            },
        );
        for batch in loader {
            let (x, y, w) = tensors(&batch?, &device.device);
            let logits = inference.forward(x);
            let loss = options.loss.compute(logits.clone(), y.clone(), w);
            valid.add(logits, y, f64::from(loss.into_scalar::<f32>()));
        }
        let record = EpochRecord {
            epoch,
            train_loss: train.mean_loss(),
            train_dice: train.dice(),
            train_iou: train.iou(),
            valid_loss: valid.mean_loss(),
            valid_dice: valid.dice(),
            valid_iou: valid.iou(),
            lr: state.lr,
            seconds: started.elapsed().as_secs_f64(),
            images_per_second: train_set.len() as f64 / train_seconds.max(1e-9),
        };

        save_hsm(&inference, &spec, false, &run_dir.join("last.hsm"))?;
        if record.valid_dice > state.best_dice || state.epochs_done == 0 {
            state.best_dice = record.valid_dice;
            state.best_epoch = epoch;
            state.since_dice_improved = 0;
            save_hsm(&inference, &spec, false, &run_dir.join("best.hsm"))?;
        } else {
            state.since_dice_improved += 1;
        }
        if record.valid_loss < state.best_loss {
            state.best_loss = record.valid_loss;
            state.since_loss_improved = 0;
        } else {
            state.since_loss_improved += 1;
            if state.since_loss_improved >= options.plateau_patience {
                state.lr = (state.lr * 0.5).max(1e-7);
                state.since_loss_improved = 0;
            }
        }
        state.epochs_done = epoch;
        state.stopped_early = state.since_dice_improved >= options.early_stop_patience;

        let mut csv = std::fs::OpenOptions::new()
            .append(true)
            .open(&metrics_path)
            .map_err(io(&metrics_path))?;
        writeln!(
            csv,
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3e},{:.2},{:.3}",
            record.epoch,
            record.train_loss,
            record.train_dice,
            record.train_iou,
            record.valid_loss,
            record.valid_dice,
            record.valid_iou,
            record.lr,
            record.seconds,
            record.images_per_second
        )
        .map_err(io(&metrics_path))?;
        write_json(&state_path, &state)?;
        observer.epoch(&record);
    }
    Ok(state)
}
