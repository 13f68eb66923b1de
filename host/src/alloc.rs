//! The allocator's arenas. glibc gives each thread that allocates its own arena, up to eight
//! per core, and keeps their memory once freed. Plugin calls run on plugin threads
//! (`plugins::threads`), so a daemon's RSS grew tick after tick with arenas
//! holding a tick's freed screens and JSON: at 1,000 sessions ~4 MB a tick (scripts/bench/tick).
//! Two arenas keep it flat at no measurable cost in tick time.

/// Limits glibc's malloc to two arenas and fixes its mmap threshold at 128 KiB (glibc raises it
/// to the size of the largest block freed, so a tick's big answers, a few hundred KiB each,
/// would then stay in the heap and raise its peak); a no-op elsewhere. Call before threads
/// start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; called before threads allocate.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Gives the heap's free pages back to the system; a no-op elsewhere. A tick allocates every
/// live screen and session afresh and frees them at its end, and glibc keeps freed pages in the
/// middle of a heap, so without this the RSS crept up by ~0.3 MB a tick at 1,000 sessions as
/// the heap fragmented (scripts/bench/tick). Costs about a millisecond at that size.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused memory; safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
