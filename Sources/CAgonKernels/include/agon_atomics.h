// The atomic loads, stores and fences a sequence lock over shared memory needs (Swift's own
// atomics live in stored properties, not at an address in a mapped file).
#ifndef AGON_ATOMICS_H
#define AGON_ATOMICS_H

#include <stdint.h>

/// *p, with acquire ordering: later reads are not moved before it.
uint64_t agon_load_acquire_u64(const uint64_t *p);
/// *p, relaxed.
uint64_t agon_load_relaxed_u64(const uint64_t *p);
/// *p = v, with release ordering: earlier writes are visible before it.
void agon_store_release_u64(uint64_t *p, uint64_t v);
/// *p = v, relaxed.
void agon_store_relaxed_u64(uint64_t *p, uint64_t v);
/// A full acquire fence: reads before it complete before reads after it.
void agon_fence_acquire(void);
/// A full release fence: writes before it are visible before writes after it.
void agon_fence_release(void);

#endif
