//! `histoseg train`: train a U-Net or U-Net-ResNet50 on a dataset built by `histoseg dataset
//! build`, with live progress, `metrics.csv` and checkpoints in the run folder.

use std::path::PathBuf;

use anyhow::{Context, bail};
use histoseg_model::ModelConfig;
use histoseg_model::loss::LossKind;
use histoseg_model::train::{EpochRecord, Observer, OptimizerKind, TrainOptions, train};
use histoseg_model::unet_resnet::UNetResNetConfig;
use histoseg_model::weights::read_hsm_header;
use indicatif::ProgressBar;

use super::model_args::DeviceArgs;

/// Arguments of `histoseg train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset folder made by `histoseg dataset build`; repeat it to train on several together
    /// (not needed with --resume).
    #[arg(long, required_unless_present = "resume")]
    data: Vec<PathBuf>,
    /// Architecture: unet or unet-resnet50.
    #[arg(long, default_value = "unet", conflicts_with = "init")]
    model: String,
    /// Start from this model's weights (fine-tuning; `default` for the shipped model); the
    /// architecture is the model's.
    #[arg(long, conflicts_with_all = ["slim", "encoder_weights"])]
    init: Option<PathBuf>,
    /// H&E colour augmentation after the D4 symmetries: random stain, brightness and contrast
    /// changes (0: off; 1: Tellez et al.'s light ranges).
    #[arg(long, default_value_t = 0.0)]
    stain_jitter: f64,
    #[command(flatten)]
    device: DeviceArgs,
    /// Maximum number of epochs (default 50; with --resume, a new total).
    #[arg(long)]
    epochs: Option<usize>,
    /// Samples per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Starting learning rate (default: 1e-3 for adam, 0.01 for sgd).
    #[arg(long)]
    lr: Option<f64>,
    /// Optimiser: adam or sgd (momentum 0.9).
    #[arg(long, default_value = "adam", value_parser = |s: &str| s.parse::<OptimizerKind>())]
    optimizer: OptimizerKind,
    /// Loss: bce, dice or bce+dice.
    #[arg(long, default_value = "bce+dice", value_parser = |s: &str| s.parse::<LossKind>())]
    loss: LossKind,
    /// Weight the cross-entropy with the U-Net paper's border weight map (w0 10, sigma 5).
    #[arg(long)]
    weight_map: bool,
    /// torchvision ResNet-50 ImageNet weights (.pth or .safetensors) for the encoder.
    #[arg(long)]
    encoder_weights: Option<PathBuf>,
    /// Divide every layer width by this (1: the paper's widths; 4 or 8 for a quick CPU run).
    #[arg(long, default_value_t = 1)]
    slim: usize,
    /// Seed of initialisation, validation hold-out, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Share of the training source images held out for validation.
    #[arg(long, default_value_t = 0.15)]
    valid_fraction: f64,
    /// Epochs without validation-loss improvement before the learning rate is halved.
    #[arg(long, default_value_t = 3)]
    plateau: usize,
    /// Epochs without validation-Dice improvement before training stops.
    #[arg(long, default_value_t = 10)]
    early_stop: usize,
    /// Run folder: options, state, metrics.csv, last.hsm and best.hsm.
    #[arg(short, long)]
    out: PathBuf,
    /// Continue the run in --out from its last checkpoint (optimiser state starts afresh).
    #[arg(long)]
    resume: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// The model by name, every width divided by `slim`.
pub fn model_config(name: &str, slim: usize) -> anyhow::Result<ModelConfig> {
    if slim == 0 {
        bail!("--slim must be at least 1");
    }
    Ok(match ModelConfig::by_name(name)? {
        ModelConfig::Unet(c) => {
            let width = c.base_width / slim;
            ModelConfig::Unet(c.with_base_width(width))
        }
        ModelConfig::UnetResnet50(c) => {
            let stem = c.encoder.stem_width / slim;
            let decoder = c.decoder_widths.map(|w| (w / slim).max(1));
            ModelConfig::UnetResnet50(UNetResNetConfig {
                encoder: c.encoder.clone().with_stem_width(stem),
                decoder_widths: decoder,
                classes: c.classes,
            })
        }
    })
}

/// Progress on stderr: a bar per epoch and a line per finished epoch.
pub struct Progress {
    quiet: bool,
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress for a run of at most `epochs` epochs.
    pub fn new(epochs: usize, quiet: bool) -> Self {
        Self {
            quiet,
            epochs,
            bar: None,
        }
    }
}

impl Observer for Progress {
    fn start(&mut self, device: &str, train: usize, valid: usize) {
        eprintln!("training on {device}: {train} samples, {valid} held out for validation");
    }

    fn batch(&mut self, epoch: usize, done: usize, total: usize, loss: f64) {
        let bar = self.bar.get_or_insert_with(|| {
            crate::progress::bar(
                total as u64,
                &format!("epoch {epoch}/{}", self.epochs),
                self.quiet,
            )
        });
        bar.set_position(done as u64);
        bar.set_message(format!("loss {loss:.4}"));
    }

    fn epoch(&mut self, r: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!(
            "epoch {:>3}/{}  train loss {:.4} dice {:.4} | valid loss {:.4} dice {:.4} iou {:.4} | \
             lr {:.1e} | {:.1} s, {:.2} img/s",
            r.epoch,
            self.epochs,
            r.train_loss,
            r.train_dice,
            r.valid_loss,
            r.valid_dice,
            r.valid_iou,
            r.lr,
            r.seconds,
            r.images_per_second
        );
    }
}

/// Runs `histoseg train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = if args.resume {
        let path = args.out.join("options.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot resume: {} is unreadable", path.display()))?;
        let mut options: TrainOptions = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run's options", path.display()))?;
        if let Some(epochs) = args.epochs {
            options.epochs = epochs;
        }
        options
    } else {
        if args.data.is_empty() {
            bail!("--data is required");
        }
        if !(args.stain_jitter.is_finite() && args.stain_jitter >= 0.0) {
            bail!("--stain-jitter must be a number at least 0");
        }
        let (model, init) = match &args.init {
            Some(path) if super::model_args::is_shipped(path) => {
                // Kept with the run, so it says exactly what it started from.
                if args.out.join("state.json").exists() {
                    bail!(
                        "{} already holds a run: resume it with --resume or choose another folder",
                        args.out.display()
                    );
                }
                let file = args.out.join("init.hsm");
                std::fs::create_dir_all(&args.out)
                    .and_then(|()| std::fs::write(&file, crate::shipped::BYTES))
                    .with_context(|| format!("cannot write {}", file.display()))?;
                (crate::shipped::spec()?.config, Some(file))
            }
            Some(path) => {
                let file = super::model_args::model_file(path);
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read the model {}", file.display()))?;
                let (header, _) = read_hsm_header(&bytes, &file.display().to_string())?;
                (header.spec.config, Some(file))
            }
            None => (model_config(&args.model, args.slim)?, None),
        };
        TrainOptions {
            data: args.data.clone(),
            init,
            stain_jitter: args.stain_jitter,
            model,
            epochs: args.epochs.unwrap_or(50),
            batch: args.batch,
            lr: args.lr.unwrap_or(match args.optimizer {
                OptimizerKind::Adam => 1e-3,
                OptimizerKind::Sgd => 1e-2,
            }),
            optimizer: args.optimizer,
            loss: args.loss,
            weight_map: args.weight_map,
            encoder_weights: args.encoder_weights.clone(),
            seed: args.seed,
            valid_fraction: args.valid_fraction,
            plateau_patience: args.plateau,
            early_stop_patience: args.early_stop,
        }
    };
    let device = args.device.open()?;
    let mut progress = Progress::new(options.epochs, args.quiet);
    let state = train(&options, &args.out, &device, args.resume, &mut progress)?;
    outln!(
        "{}: {} epochs{}, best validation Dice {:.4} at epoch {} ({})",
        args.out.display(),
        state.epochs_done,
        if state.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        state.best_dice,
        state.best_epoch,
        args.out.join("best.hsm").display()
    );
    Ok(())
}
