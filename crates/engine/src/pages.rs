//! Weight bytes on 2 MiB pages where the kernel grants them.
//!
//! Decoding one sequence of a model larger than the cache streams every weight once a token, and
//! with 4 KiB pages the hardware prefetchers stop at every page boundary and every page costs a
//! TLB miss: on the AVX-512 machine of BENCHMARKS.md two cores read 800 MB at about 20 GB/s from
//! 4 KiB pages and at about 29 GB/s from 2 MiB pages. Linux backs anonymous memory with huge
//! pages only where asked (`transparent_hugepage` is `madvise` on most distributions), so
//! [`Pages`] maps its own memory, 2 MiB-aligned, and asks (`MADV_HUGEPAGE`) for the whole
//! 2 MiB pages inside it before anything is written; the tail stays on small pages, so the
//! resident size is the length, not more. Where the kernel says no, or on other systems, the
//! bytes are ordinary memory and nothing else changes.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// The huge page size asked for.
pub const HUGE: usize = 2 << 20;

/// Zero-initialised bytes of a fixed length, in their own mapping on Linux.
pub struct Pages {
    ptr: NonNull<u8>,
    len: usize,
    /// Bytes mapped at `ptr` (Linux), or 0 when the bytes came from the global allocator.
    mapped: usize,
}

// SAFETY: `Pages` owns its bytes exclusively, like a `Vec<u8>`.
unsafe impl Send for Pages {}
// SAFETY: shared access only reads.
unsafe impl Sync for Pages {}

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::{c_int, c_long, c_void};

    // <sys/mman.h> (asm-generic values, the same on x86-64 and aarch64).
    pub const PROT_READ: c_int = 0x1;
    pub const PROT_WRITE: c_int = 0x2;
    pub const MAP_PRIVATE: c_int = 0x02;
    pub const MAP_ANONYMOUS: c_int = 0x20;
    pub const MADV_HUGEPAGE: c_int = 14;

    extern "C" {
        pub fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: c_int,
            flags: c_int,
            fd: c_int,
            off: c_long,
        ) -> *mut c_void;
        pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
        pub fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
    }
}

/// Small pages: the unit of a mapping's length.
const PAGE: usize = 4096;

impl Pages {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Pages {
        #[cfg(target_os = "linux")]
        if len >= HUGE {
            if let Some(p) = Pages::map(len) {
                return p;
            }
        }
        Pages::allocate(len)
    }

    /// A copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Pages {
        let mut p = Pages::zeroed(bytes.len());
        p.copy_from_slice(bytes);
        p
    }

    /// A 2 MiB-aligned anonymous mapping of `len` bytes (rounded up to small pages), its whole
    /// huge pages advised; `None` when the kernel refuses the mapping.
    #[cfg(target_os = "linux")]
    fn map(len: usize) -> Option<Pages> {
        use sys::*;
        let want = len.div_ceil(PAGE) * PAGE;
        let span = want + HUGE;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let base = unsafe {
            mmap(
                std::ptr::null_mut(),
                span,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base as isize == -1 || base.is_null() {
            return None;
        }
        let base = base as usize;
        let start = base.next_multiple_of(HUGE);
        // SAFETY: the head [base, start) and the tail [start + want, base + span) are parts of
        // the mapping just made that no pointer will reach; unmapping them is always allowed.
        unsafe {
            if start > base {
                munmap(base as *mut _, start - base);
            }
            let end = start + want;
            if base + span > end {
                munmap(end as *mut _, base + span - end);
            }
            // Advice only: where it is refused the pages are small, nothing else changes.
            let whole = len / HUGE * HUGE;
            madvise(start as *mut _, whole, MADV_HUGEPAGE);
        }
        Some(Pages {
            ptr: NonNull::new(start as *mut u8)?,
            len,
            mapped: want,
        })
    }

    fn layout(len: usize) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(len.max(1), 64).expect("a weight buffer's layout")
    }

    fn allocate(len: usize) -> Pages {
        let layout = Pages::layout(len);
        // SAFETY: the layout's size is at least 1.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(layout)
        };
        Pages {
            ptr,
            len,
            mapped: 0,
        }
    }
}

impl Pages {
    /// The bytes as 16-bit values (the length must be even; the start is aligned).
    pub fn as_u16(&self) -> &[u16] {
        assert!(self.len.is_multiple_of(2), "u16 view of {} bytes", self.len);
        // SAFETY: `len` initialised bytes at `ptr`, aligned to at least 64; every bit pattern
        // is a u16.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr() as *const u16, self.len / 2) }
    }

    /// [`Pages::as_u16`], mutable.
    pub fn as_u16_mut(&mut self) -> &mut [u16] {
        assert!(self.len.is_multiple_of(2), "u16 view of {} bytes", self.len);
        // SAFETY: as in `as_u16`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr() as *mut u16, self.len / 2) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if self.mapped > 0 {
            // SAFETY: `ptr..ptr + mapped` is the mapping made in `map`, unmapped once.
            unsafe { sys::munmap(self.ptr.as_ptr() as *mut _, self.mapped) };
            return;
        }
        // SAFETY: allocated in `allocate` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Pages::layout(self.len)) }
    }
}

impl Deref for Pages {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` initialised bytes at `ptr`, owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Pages {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Clone for Pages {
    fn clone(&self) -> Pages {
        Pages::from_slice(self)
    }
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("len", &self.len)
            .field("mapped", &(self.mapped > 0))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_buffers_hold_what_is_written_and_start_at_zero() {
        for len in [0, 1, 4095, 4096, HUGE - 1, HUGE, HUGE + 4097, 3 * HUGE] {
            let mut p = Pages::zeroed(len);
            assert_eq!(p.len(), len);
            assert!(p.iter().all(|&b| b == 0), "{len}");
            for (i, b) in p.iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            let q = p.clone();
            drop(p);
            assert!(q.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            if len >= HUGE && cfg!(target_os = "linux") {
                assert_eq!(q.as_ptr() as usize % HUGE, 0, "{len} is 2 MiB-aligned");
            }
        }
    }
}
