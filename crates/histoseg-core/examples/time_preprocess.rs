//! Times the preprocessing chain on one image for `bench/preprocess_vs_opencv.py`.
//!
//! usage: time_preprocess IMAGE [REPEATS]; prints the median milliseconds of one chain run.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: time_preprocess IMAGE [REPEATS]")?;
    let repeats: usize = args.next().map_or(Ok(30), |r| r.parse())?;
    let img = image::open(&path)?.to_rgb8();
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(histoseg_core::filters::preprocess_u8(&img));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("{:.3}", times[times.len() / 2]);
    Ok(())
}
