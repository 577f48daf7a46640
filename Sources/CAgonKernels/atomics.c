// Atomics for sequence locks over shared memory; see agon_atomics.h.
#include "agon_atomics.h"

uint64_t agon_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
uint64_t agon_load_relaxed_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
void agon_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
void agon_store_relaxed_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
void agon_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
void agon_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }
