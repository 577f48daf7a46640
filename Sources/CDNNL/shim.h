// oneDNN's C API (Debian libdnnl-dev 2.6), the kernels behind every matmul, convolution and BatchNorm.
#include <dnnl.h>
