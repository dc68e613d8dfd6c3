//! Training losses on logits: (weighted) binary cross-entropy, soft Dice, and their sum.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

/// Which loss to train with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Binary cross-entropy (optionally weighted per pixel).
    Bce,
    /// Soft Dice loss.
    Dice,
    /// The sum of both.
    BceDice,
}

impl std::str::FromStr for LossKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bce" => Ok(Self::Bce),
            "dice" => Ok(Self::Dice),
            "bce+dice" | "bce-dice" => Ok(Self::BceDice),
            other => Err(format!(
                "unknown loss {other:?}: expected bce, dice or bce+dice"
            )),
        }
    }
}

/// Mean binary cross-entropy between `logits` and `target` (0 or 1), computed stably as
/// `max(x, 0) - x t + ln(1 + e^-|x|)`; with `weight`, the mean of the weighted terms.
///
/// # Shapes
/// all `[n, 1, h, w]` -> `[1]`
pub fn bce_with_logits(
    logits: Tensor<4>,
    target: Tensor<4>,
    weight: Option<Tensor<4>>,
) -> Tensor<1> {
    let terms =
        logits.clone().clamp_min(0.0) - logits.clone() * target + logits.abs().neg().exp().log1p();
    match weight {
        Some(w) => (terms * w).mean(),
        None => terms.mean(),
    }
}

/// Soft Dice loss `1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)` with `p = sigmoid(logits)`,
/// over the whole batch (so patches without nuclei do not divide by zero).
///
/// # Shapes
/// both `[n, 1, h, w]` -> `[1]`
pub fn soft_dice_loss(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let p = sigmoid(logits);
    let intersection = (p.clone() * target.clone()).sum();
    let total = p.sum() + target.sum();
    (intersection.mul_scalar(2.0).add_scalar(1.0) / total.add_scalar(1.0))
        .neg()
        .add_scalar(1.0)
}

impl LossKind {
    /// The loss of `logits` against `target`; `weight` applies to the cross-entropy part.
    pub fn compute(
        self,
        logits: Tensor<4>,
        target: Tensor<4>,
        weight: Option<Tensor<4>>,
    ) -> Tensor<1> {
        match self {
            Self::Bce => bce_with_logits(logits, target, weight),
            Self::Dice => soft_dice_loss(logits, target),
            Self::BceDice => {
                bce_with_logits(logits.clone(), target.clone(), weight)
                    + soft_dice_loss(logits, target)
            }
        }
    }
}
