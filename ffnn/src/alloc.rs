//! An allocator that starts every large block on a cache line.
//!
//! The kernels stream rows of matrices through 32-byte AVX loads. The system allocator gives
//! large blocks 16-byte alignment, and where a block starts then depends on what was allocated
//! and freed before: with the rows 16 bytes off a 64-byte line, every other load straddles two
//! cache lines and the sparse first-layer kernel runs about 25% slower (784-800-10 on this
//! machine: 0.67 s per epoch against 0.53 s, the same code, by where the weights happened to
//! land). A program that trains opts in with
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: ffnn::alloc::CacheAligned = ffnn::alloc::CacheAligned;
//! # fn main() {}
//! ```
//!
//! and every block of at least [`LARGE`] bytes starts on a 64-byte boundary; smaller ones are
//! left to the system allocator as they are.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of this many bytes or more are aligned to a cache line.
pub const LARGE: usize = 4096;
/// A cache line.
const LINE: usize = 64;

/// The system allocator, with blocks of at least [`LARGE`] bytes aligned to 64 bytes.
pub struct CacheAligned;

/// The layout a request is served with: the same size, aligned to a cache line when large.
/// A pure function of the request, so `dealloc` sees the layout `alloc` used.
fn served(layout: Layout) -> Layout {
    if layout.size() >= LARGE && layout.align() < LINE {
        // A valid layout stays valid with a larger power-of-two alignment that its size,
        // rounded up, still fits in `isize` (sizes this large never come near it).
        Layout::from_size_align(layout.size(), LINE).unwrap_or(layout)
    } else {
        layout
    }
}

// SAFETY: every block is obtained from and returned to the system allocator with the same
// layout (`served` is deterministic), and that layout's alignment is at least the caller's.
unsafe impl GlobalAlloc for CacheAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `served` keeps the size (non-zero, as the caller guarantees) and only raises
        // the alignment.
        unsafe { System.alloc(served(layout)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(served(layout)) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` with `served(layout)`.
        unsafe { System.dealloc(ptr, served(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` is non-zero and fits `layout`'s alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if served(layout) == layout && served(new_layout) == new_layout {
            // Small before and after: the system's realloc, which may grow in place.
            // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // The alignment class changes or stays large: a new block, the bytes copied over.
        // SAFETY: as in `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_start_on_a_cache_line_and_keep_their_bytes() {
        let a = CacheAligned;
        for size in [LARGE, LARGE + 4, 1 << 20, 3 << 20] {
            let layout = Layout::from_size_align(size, 4).unwrap();
            // SAFETY: a non-zero size; every block is freed with the layout it was made with.
            unsafe {
                let p = a.alloc(layout);
                assert_eq!(p as usize % 64, 0, "{size} bytes");
                p.write_bytes(7, size);
                let q = a.realloc(p, layout, size * 2);
                assert_eq!(q as usize % 64, 0);
                assert!((0..size).all(|i| *q.add(i) == 7), "realloc keeps the bytes");
                a.dealloc(q, Layout::from_size_align(size * 2, 4).unwrap());
            }
        }
        let small = Layout::from_size_align(24, 8).unwrap();
        assert_eq!(served(small), small, "small blocks are the system's");
    }
}
