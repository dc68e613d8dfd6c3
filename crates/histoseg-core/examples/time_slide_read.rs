//! Times the reader for `bench/slides_vs_openslide.sh`: an overview and a level-0 region,
//! each on a freshly opened slide (so no tile is cached from before).
//!
//! usage: time_slide_read SLIDE MAX_SIDE REGION_SIDE REPEATS [overview|region|both]
//! prints the median milliseconds of open + overview and of open + region.

use std::time::Instant;

use histoseg_core::rect::Rect;
use histoseg_core::slide::Slide;

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: time_slide_read SLIDE MAX_SIDE REGION_SIDE REPEATS [overview|region|both]";
    let [path, max_side, side, repeats, rest @ ..] = &args[..] else {
        return Err(usage.into());
    };
    let (max_side, side, repeats): (u32, u32, usize) =
        (max_side.parse()?, side.parse()?, repeats.parse()?);
    let what = rest.first().map_or("both", String::as_str);
    let time = |f: &dyn Fn() -> Result<(), Box<dyn std::error::Error>>| {
        (0..repeats.max(1))
            .map(|_| {
                let start = Instant::now();
                f().map(|()| start.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<Result<Vec<f64>, _>>()
            .map(median)
    };
    let overview = || -> Result<(), Box<dyn std::error::Error>> {
        let mut slide = Slide::open_path(path)?;
        std::hint::black_box(slide.overview(max_side)?);
        Ok(())
    };
    let region = || -> Result<(), Box<dyn std::error::Error>> {
        let mut slide = Slide::open_path(path)?;
        let (w, h) = slide.level_dimensions(0).ok_or("no level 0")?;
        let (rw, rh) = (side.min(w), side.min(h));
        let rect = Rect::new((w - rw) / 2, (h - rh) / 2, rw, rh);
        std::hint::black_box(slide.read_region(0, rect)?);
        Ok(())
    };
    let o = if what == "region" {
        0.0
    } else {
        time(&overview)?
    };
    let r = if what == "overview" {
        0.0
    } else {
        time(&region)?
    };
    println!("{o:.2} {r:.2}");
    Ok(())
}
