//! The allocator's arenas. glibc gives each thread that allocates its own arena, up to eight
//! per core, and keeps their memory once freed. Every plugin call runs on a thread of its own
//! (`plugins::component::off_runtime`), so a daemon's RSS grew tick after tick with arenas
//! holding a tick's freed screens and JSON: at 1,000 sessions ~4 MB a tick (scripts/bench/tick).
//! Two arenas keep it flat at no measurable cost in tick time.

/// Limits glibc's malloc to two arenas; a no-op elsewhere. Call before threads start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; called before threads allocate.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
