//! Damaged tiles: chunks whose JPEG data is broken (cut short, garbage after the header) but
//! still decode leniently. They are counted and named rather than passed off as good pixels,
//! or, in strict mode, refused.

use std::sync::Mutex;

/// Most damaged tiles named; further ones are only counted.
const MAX_NAMED: usize = 32;

/// The damaged tiles one slide met, shared by the threads that decode its tiles.
#[derive(Debug, Default)]
pub(crate) struct DamageLog {
    strict: bool,
    seen: Mutex<Damage>,
}

/// What a slide's reads met so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    /// Damaged tiles decoded (each counted once: decoded tiles are cached).
    pub count: usize,
    /// The first ones, as `tile 37 is damaged: what is wrong`.
    pub named: Vec<String>,
}

impl DamageLog {
    /// Strict: a damaged tile is an error instead of a warning.
    pub fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// Records a damaged `tile` (its description and problem), or refuses it in strict mode.
    pub fn record(&self, tile: String) -> Result<(), String> {
        if self.strict {
            return Err(format!("{tile} (strict: damaged tiles are errors)"));
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.count += 1;
        if seen.named.len() < MAX_NAMED {
            seen.named.push(tile);
        }
        Ok(())
    }

    /// What was met so far.
    pub fn damage(&self) -> Damage {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
