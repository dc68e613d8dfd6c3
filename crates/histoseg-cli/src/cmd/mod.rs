//! One module per subcommand, each with its clap `Args` and a `run`.

pub mod annotations;
pub mod dataset;
pub mod evaluate;
pub mod experiment;
pub mod export;
pub mod extract;
pub mod info;
pub mod metrics;
pub mod model_args;
pub mod overview;
pub mod predict;
pub mod predict_slide;
pub mod preprocess;
pub mod train;

use histoseg_core::slide::Slide;

/// Warns on stderr when the slide's reads met damaged tiles (broken JPEG data decoded
/// leniently), naming the first ones.
pub fn report_damage<R>(slide: &Slide<R>) {
    let damage = slide.damage();
    if damage.count == 0 {
        return;
    }
    eprintln!(
        "warning: {}: {} damaged tile(s) decoded leniently, their pixels are not the scanner's \
         (--strict refuses them)",
        slide.name(),
        damage.count
    );
    for tile in &damage.named {
        eprintln!("warning: {}: {tile}", slide.name());
    }
}
