//! One module per subcommand, each with its clap `Args` and a `run`.

pub mod annotations;
pub mod dataset;
pub mod extract;
pub mod info;
pub mod metrics;
pub mod overview;
pub mod preprocess;
