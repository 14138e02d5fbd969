//! Cache hints: start loading memory that will be read soon, so that its
//! latency overlaps other work. A hint never changes a result, and a wrong
//! one costs only the load.

/// Starts loading the cache line that holds `p`. Any address will do: a
/// prefetch never faults.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Starts loading the cache lines of `items`, which should span a line or
/// two (say, a row of a table).
#[inline(always)]
pub fn prefetch_slice<T>(items: &[T]) {
    if let Some(last) = items.last() {
        prefetch(items.as_ptr());
        prefetch(last);
    }
}
