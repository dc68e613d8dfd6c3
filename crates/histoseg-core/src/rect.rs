//! Integer rectangles and the merging of overlapping and nearby boxes.
//!
//! A [`Rect`] is half-open: it covers columns `x..x + w` and rows `y..y + h`. Two rectangles
//! *intersect* when they share at least one pixel; their *gap* ([`Rect::gap_to`]) is the
//! Chebyshev distance between them in pixels (0 when they touch or overlap).
//!
//! Merging replaces every group of linked rectangles by the group's bounding box and repeats
//! until no two boxes are linked. The result does not depend on the input order: a merge done in
//! one order is implied in every other, because links only grow as boxes grow.
//!
//! Written by hand: no maintained crate merges boxes transitively to a fixpoint. A sweep over
//! boxes sorted by `x` keeps each round near `O(n log n)` for the scattered boxes of tissue
//! detection.

use serde::{Deserialize, Serialize};

use crate::union_find::DisjointSets;

/// An axis-aligned integer rectangle, half-open, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub w: u32,
    /// Height in pixels.
    pub h: u32,
}

impl Rect {
    /// A rectangle from its top-left corner and size.
    pub const fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    /// One past the right-most column (`x + w`), widened so it cannot overflow.
    pub const fn right(&self) -> u64 {
        self.x as u64 + self.w as u64
    }

    /// One past the bottom row (`y + h`), widened so it cannot overflow.
    pub const fn bottom(&self) -> u64 {
        self.y as u64 + self.h as u64
    }

    /// Area in pixels.
    pub const fn area(&self) -> u64 {
        self.w as u64 * self.h as u64
    }

    /// Whether the rectangle covers no pixel.
    pub const fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// Whether `other` lies entirely inside `self`.
    ///
    /// ```
    /// use histoseg_core::rect::Rect;
    /// assert!(Rect::new(0, 0, 10, 10).contains(&Rect::new(2, 2, 8, 8)));
    /// assert!(!Rect::new(0, 0, 10, 10).contains(&Rect::new(2, 2, 9, 8)));
    /// ```
    pub const fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// Whether the pixel `(px, py)` lies inside.
    pub const fn contains_point(&self, px: u32, py: u32) -> bool {
        px >= self.x && py >= self.y && (px as u64) < self.right() && (py as u64) < self.bottom()
    }

    /// Whether the point `(x, y)` (pixel coordinates, not pixel indices) lies inside the
    /// rectangle grown by `margin` on every side; a negative margin shrinks it.
    ///
    /// ```
    /// use histoseg_core::rect::Rect;
    /// let r = Rect::new(10, 10, 5, 5);
    /// assert!(r.holds(14.9, 10.0, 0.0) && !r.holds(15.0, 12.0, 0.0));
    /// assert!(r.holds(16.0, 12.0, 2.0) && !r.holds(11.0, 12.0, -2.0));
    /// ```
    pub fn holds(&self, x: f64, y: f64, margin: f64) -> bool {
        x >= f64::from(self.x) - margin
            && y >= f64::from(self.y) - margin
            && x < self.right() as f64 + margin
            && y < self.bottom() as f64 + margin
    }

    /// The shared pixels of two rectangles, or `None` when they share none.
    ///
    /// ```
    /// use histoseg_core::rect::Rect;
    /// let a = Rect::new(0, 0, 10, 10);
    /// assert_eq!(a.intersection(&Rect::new(5, 8, 10, 10)), Some(Rect::new(5, 8, 5, 2)));
    /// assert_eq!(a.intersection(&Rect::new(10, 0, 5, 5)), None); // touching, not sharing
    /// ```
    pub fn intersection(&self, other: &Rect) -> Option<Rect> {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = self.right().min(other.right());
        let y1 = self.bottom().min(other.bottom());
        (u64::from(x0) < x1 && u64::from(y0) < y1).then(|| {
            Rect::new(
                x0,
                y0,
                (x1 - u64::from(x0)) as u32,
                (y1 - u64::from(y0)) as u32,
            )
        })
    }

    /// Whether the two rectangles share at least one pixel.
    pub fn intersects(&self, other: &Rect) -> bool {
        self.intersection(other).is_some()
    }

    /// The bounding box of both rectangles (saturating at `u32::MAX`).
    ///
    /// ```
    /// use histoseg_core::rect::Rect;
    /// let u = Rect::new(0, 0, 2, 2).union(&Rect::new(5, 1, 1, 4));
    /// assert_eq!(u, Rect::new(0, 0, 6, 5));
    /// ```
    pub fn union(&self, other: &Rect) -> Rect {
        let x0 = self.x.min(other.x);
        let y0 = self.y.min(other.y);
        let x1 = self.right().max(other.right());
        let y1 = self.bottom().max(other.bottom());
        let clamp = |v: u64| v.min(u64::from(u32::MAX)) as u32;
        Rect::new(x0, y0, clamp(x1 - u64::from(x0)), clamp(y1 - u64::from(y0)))
    }

    /// Chebyshev distance in pixels between the two rectangles: the larger of the empty columns
    /// and empty rows between them, 0 when they touch or overlap.
    ///
    /// ```
    /// use histoseg_core::rect::Rect;
    /// let a = Rect::new(0, 0, 10, 10);
    /// assert_eq!(a.gap_to(&Rect::new(13, 2, 4, 4)), 3); // columns 10, 11, 12 empty
    /// assert_eq!(a.gap_to(&Rect::new(10, 10, 4, 4)), 0); // corners touch
    /// ```
    pub fn gap_to(&self, other: &Rect) -> u64 {
        let gap_x = u64::from(other.x)
            .saturating_sub(self.right())
            .max(u64::from(self.x).saturating_sub(other.right()));
        let gap_y = u64::from(other.y)
            .saturating_sub(self.bottom())
            .max(u64::from(self.y).saturating_sub(other.bottom()));
        gap_x.max(gap_y)
    }
}

/// Which pairs of boxes [`merge_linked`] joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Boxes sharing at least one pixel.
    Intersecting,
    /// Boxes at most this many pixels apart ([`Rect::gap_to`]); touching boxes are 0 apart.
    Within(u64),
}

impl Link {
    fn joins(self, a: &Rect, b: &Rect) -> bool {
        match self {
            Link::Intersecting => a.intersects(b),
            Link::Within(gap) => a.gap_to(b) <= gap,
        }
    }

    /// How far right of `a.right()` a box may start and still be linked to `a`.
    fn reach(self) -> u64 {
        match self {
            Link::Intersecting => 0,
            Link::Within(gap) => gap,
        }
    }
}

/// Repeatedly replaces linked boxes by their bounding box until no two are linked; the result
/// is sorted. Empty rectangles are dropped.
fn merge_linked(rects: &[Rect], link: Link) -> Vec<Rect> {
    let mut boxes: Vec<Rect> = rects.iter().copied().filter(|r| !r.is_empty()).collect();
    loop {
        boxes.sort_unstable();
        let mut sets = DisjointSets::new(boxes.len());
        let mut merged_any = false;
        for i in 0..boxes.len() {
            let limit = boxes[i].right() + link.reach();
            for j in i + 1..boxes.len() {
                // Sorted by x: once a box starts past the reach of `i`, so do all after it.
                if u64::from(boxes[j].x) > limit {
                    break;
                }
                if link.joins(&boxes[i], &boxes[j]) && sets.union(i, j) {
                    merged_any = true;
                }
            }
        }
        if !merged_any {
            return boxes;
        }
        let mut groups: Vec<Option<Rect>> = vec![None; boxes.len()];
        for (i, b) in boxes.iter().enumerate() {
            let root = sets.find(i);
            groups[root] = Some(groups[root].map_or(*b, |g| g.union(b)));
        }
        boxes = groups.into_iter().flatten().collect();
    }
}

/// Merges rectangles that share pixels, transitively, until none do.
///
/// ```
/// use histoseg_core::rect::{merge_intersecting, Rect};
/// let merged = merge_intersecting(&[
///     Rect::new(0, 0, 4, 4),
///     Rect::new(3, 3, 4, 4),
///     Rect::new(20, 0, 2, 2),
/// ]);
/// assert_eq!(merged, vec![Rect::new(0, 0, 7, 7), Rect::new(20, 0, 2, 2)]);
/// ```
pub fn merge_intersecting(rects: &[Rect]) -> Vec<Rect> {
    merge_linked(rects, Link::Intersecting)
}

/// Merges rectangles at most `gap` pixels apart (see [`Rect::gap_to`]; touching or overlapping
/// boxes are 0 apart, so they always merge), transitively, until every two outputs are more
/// than `gap` pixels apart.
///
/// ```
/// use histoseg_core::rect::{merge_near, Rect};
/// let boxes = [Rect::new(0, 0, 10, 10), Rect::new(15, 0, 10, 10)];
/// assert_eq!(merge_near(&boxes, 4).len(), 2); // 5 px apart
/// assert_eq!(merge_near(&boxes, 5), vec![Rect::new(0, 0, 25, 10)]);
/// ```
pub fn merge_near(rects: &[Rect], gap: u32) -> Vec<Rect> {
    merge_linked(rects, Link::Within(u64::from(gap)))
}

/// Keeps the rectangles whose area is at least `min_area` pixels.
///
/// ```
/// use histoseg_core::rect::{filter_by_area, Rect};
/// let kept = filter_by_area(&[Rect::new(0, 0, 3, 3), Rect::new(0, 0, 2, 2)], 5);
/// assert_eq!(kept, vec![Rect::new(0, 0, 3, 3)]);
/// ```
pub fn filter_by_area(rects: &[Rect], min_area: u64) -> Vec<Rect> {
    rects
        .iter()
        .copied()
        .filter(|r| r.area() >= min_area)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Brute-force reference: merge any linked pair until none is left.
    fn brute_force(rects: &[Rect], link: Link) -> Vec<Rect> {
        let mut boxes: Vec<Rect> = rects.iter().copied().filter(|r| !r.is_empty()).collect();
        'outer: loop {
            for i in 0..boxes.len() {
                for j in i + 1..boxes.len() {
                    if link.joins(&boxes[i], &boxes[j]) {
                        let merged = boxes[i].union(&boxes[j]);
                        boxes.swap_remove(j);
                        boxes[i] = merged;
                        continue 'outer;
                    }
                }
            }
            boxes.sort_unstable();
            return boxes;
        }
    }

    fn rects() -> impl Strategy<Value = Vec<Rect>> {
        proptest::collection::vec(
            (0u32..200, 0u32..200, 0u32..40, 0u32..40)
                .prop_map(|(x, y, w, h)| Rect::new(x, y, w, h)),
            0..40,
        )
    }

    #[test]
    fn gap_counts_empty_columns_and_rows() {
        let a = Rect::new(10, 10, 5, 5);
        assert_eq!(a.gap_to(&Rect::new(0, 0, 5, 5)), 5);
        assert_eq!(a.gap_to(&Rect::new(0, 0, 10, 10)), 0);
        assert_eq!(a.gap_to(&Rect::new(12, 30, 1, 1)), 15);
        assert_eq!(a.gap_to(&a), 0);
    }

    #[test]
    fn huge_rectangles_do_not_overflow() {
        let a = Rect::new(u32::MAX - 1, u32::MAX - 1, u32::MAX, u32::MAX);
        let b = Rect::new(0, 0, 1, 1);
        assert_eq!(a.union(&b), Rect::new(0, 0, u32::MAX, u32::MAX));
        assert!(!a.intersects(&b));
        assert_eq!(merge_near(&[a, b], u32::MAX).len(), 1);
    }

    #[test]
    fn chains_merge_transitively() {
        // Each neighbour overlaps only the next one; the merged box of the first two reaches the
        // far box only after growing.
        let boxes = [
            Rect::new(0, 0, 10, 2),
            Rect::new(9, 0, 2, 10),
            Rect::new(0, 9, 3, 3),
            Rect::new(50, 50, 5, 5),
        ];
        assert_eq!(
            merge_intersecting(&boxes),
            vec![Rect::new(0, 0, 11, 12), Rect::new(50, 50, 5, 5)]
        );
    }

    proptest! {
        #[test]
        fn merge_intersecting_matches_brute_force(input in rects()) {
            prop_assert_eq!(merge_intersecting(&input), brute_force(&input, Link::Intersecting));
        }

        #[test]
        fn merge_near_matches_brute_force(input in rects(), gap in 0u32..30) {
            prop_assert_eq!(
                merge_near(&input, gap),
                brute_force(&input, Link::Within(u64::from(gap)))
            );
        }

        #[test]
        fn merge_near_is_order_independent(mut input in rects(), gap in 0u32..30, seed in any::<u64>()) {
            let first = merge_near(&input, gap);
            // A deterministic shuffle driven by the seed.
            let n = input.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                input.swap(i, j);
            }
            input.reverse();
            prop_assert_eq!(first, merge_near(&input, gap));
        }

        #[test]
        fn merge_near_outputs_are_apart_and_cover_inputs(input in rects(), gap in 0u32..30) {
            let out = merge_near(&input, gap);
            for (i, a) in out.iter().enumerate() {
                for b in &out[i + 1..] {
                    prop_assert!(!a.intersects(b));
                    prop_assert!(a.gap_to(b) > u64::from(gap), "{a:?} {b:?} within {gap}");
                }
            }
            for r in input.iter().filter(|r| !r.is_empty()) {
                prop_assert!(out.iter().any(|o| o.contains(r)), "{r:?} not covered");
            }
        }

        #[test]
        fn merge_intersecting_outputs_are_disjoint_and_cover_inputs(input in rects()) {
            let out = merge_intersecting(&input);
            for (i, a) in out.iter().enumerate() {
                for b in &out[i + 1..] {
                    prop_assert!(!a.intersects(b));
                }
            }
            for r in input.iter().filter(|r| !r.is_empty()) {
                prop_assert!(out.iter().any(|o| o.contains(r)));
            }
        }

        #[test]
        fn filter_by_area_keeps_exactly_the_large(input in rects(), min_area in 0u64..800) {
            let kept = filter_by_area(&input, min_area);
            prop_assert!(kept.iter().all(|r| r.area() >= min_area));
            prop_assert_eq!(kept.len(), input.iter().filter(|r| r.area() >= min_area).count());
        }

        #[test]
        fn intersection_is_inside_both(a in rects(), b in rects()) {
            for (ra, rb) in a.iter().zip(&b) {
                match ra.intersection(rb) {
                    Some(i) => {
                        prop_assert!(ra.contains(&i) && rb.contains(&i) && !i.is_empty());
                    }
                    None => {
                        let apart = u64::from(ra.x) >= rb.right()
                            || u64::from(rb.x) >= ra.right()
                            || u64::from(ra.y) >= rb.bottom()
                            || u64::from(rb.y) >= ra.bottom();
                        prop_assert!(ra.is_empty() || rb.is_empty() || apart);
                    }
                }
                let u = ra.union(rb);
                prop_assert!(u.contains(ra) && u.contains(rb));
            }
        }
    }
}
