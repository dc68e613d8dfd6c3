//! Disjoint sets over indices (union-find with path halving; the smaller root wins), shared by
//! the box merges and the run labelling of tissue detection. Written here because it is a dozen
//! lines, and the crates that offer it come with graph libraries the core does not use.

/// Sets of the indices `0..len`, each its own set at first.
#[derive(Debug, Clone, Default)]
pub(crate) struct DisjointSets {
    parent: Vec<u32>,
}

impl DisjointSets {
    /// `len` singletons.
    pub(crate) fn new(len: usize) -> Self {
        Self {
            parent: (0..len as u32).collect(),
        }
    }

    /// Adds a singleton and returns its index.
    pub(crate) fn push(&mut self) -> usize {
        self.parent.push(self.parent.len() as u32);
        self.parent.len() - 1
    }

    /// The root of `i`'s set.
    pub(crate) fn find(&mut self, i: usize) -> usize {
        let mut i = i as u32;
        while self.parent[i as usize] != i {
            let up = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = up;
            i = up;
        }
        i as usize
    }

    /// Joins the sets of `a` and `b`; `false` when they were one already.
    pub(crate) fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb) as u32;
        }
        ra != rb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_are_transitive_and_roots_are_the_smallest_index() {
        let mut sets = DisjointSets::new(5);
        assert!(sets.union(4, 3));
        assert!(sets.union(3, 1));
        assert!(!sets.union(4, 1));
        assert_eq!(sets.push(), 5);
        assert_eq!(
            (0..6).map(|i| sets.find(i)).collect::<Vec<_>>(),
            [0, 1, 2, 1, 1, 5]
        );
    }
}
