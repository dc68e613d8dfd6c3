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
pub mod preprocess;
pub mod train;
