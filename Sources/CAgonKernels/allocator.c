// Allocator tuning for processes that receive megabyte messages every step (malloc.h is not
// in Swift's Glibc module).
#include "agon_kernels.h"
#include <malloc.h>

void agon_keep_large_buffers(void) {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);  // serve up to 256 MiB from the heap, not fresh mmap()s
    mallopt(M_TRIM_THRESHOLD, 1 << 30);    // keep freed heap memory for the next message
    mallopt(M_TOP_PAD, 64 << 20);          // grow the heap in large steps
}
