//! A tile cache bounded by bytes, evicting the least recently used tile first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use image::RgbImage;

/// Identifies one decoded chunk: the directory it belongs to and its index.
pub(crate) type TileKey = (u64, u32);

/// Decoded tiles, kept until their total size would pass the byte budget.
#[derive(Debug)]
pub struct TileCache {
    capacity: usize,
    used: usize,
    clock: u64,
    tiles: HashMap<TileKey, (Arc<RgbImage>, u64)>,
    order: BTreeMap<u64, TileKey>,
}

impl TileCache {
    /// A cache holding at most `capacity_bytes` of decoded pixels (0 disables caching).
    pub fn new(capacity_bytes: usize) -> Self {
        TileCache {
            capacity: capacity_bytes,
            used: 0,
            clock: 0,
            tiles: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The byte budget.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of decoded pixels held now.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Number of tiles held now.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether the cache holds no tile.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// Looks a tile up, marking it as recently used.
    pub(crate) fn get(&mut self, key: TileKey) -> Option<Arc<RgbImage>> {
        self.clock += 1;
        let now = self.clock;
        let (img, stamp) = self.tiles.get_mut(&key)?;
        self.order.remove(stamp);
        *stamp = now;
        self.order.insert(now, key);
        Some(Arc::clone(img))
    }

    /// Adds a tile, evicting the least recently used ones to stay within the budget.
    pub(crate) fn insert(&mut self, key: TileKey, img: Arc<RgbImage>) {
        let size = img.as_raw().len();
        if size > self.capacity {
            return;
        }
        if let Some((old, stamp)) = self.tiles.remove(&key) {
            self.order.remove(&stamp);
            self.used -= old.as_raw().len();
        }
        while self.used + size > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = self.tiles.remove(&oldest) {
                self.used -= old.as_raw().len();
            }
        }
        self.clock += 1;
        self.order.insert(self.clock, key);
        self.tiles.insert(key, (img, self.clock));
        self.used += size;
    }

    /// Drops every tile.
    pub fn clear(&mut self) {
        self.tiles.clear();
        self.order.clear();
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(side: u32) -> Arc<RgbImage> {
        Arc::new(RgbImage::new(side, side))
    }

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let t = 10 * 10 * 3;
        let mut c = TileCache::new(3 * t);
        c.insert((0, 0), tile(10));
        c.insert((0, 1), tile(10));
        c.insert((0, 2), tile(10));
        assert!(c.get((0, 0)).is_some()); // 0 is now the most recent
        c.insert((0, 3), tile(10)); // evicts 1
        assert!(c.get((0, 1)).is_none());
        assert!(c.get((0, 0)).is_some() && c.get((0, 2)).is_some() && c.get((0, 3)).is_some());
        assert_eq!(c.used(), 3 * t);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn refuses_tiles_larger_than_the_budget() {
        let mut c = TileCache::new(100);
        c.insert((0, 0), tile(10));
        assert!(c.is_empty());
        assert_eq!(c.used(), 0);
    }
}
