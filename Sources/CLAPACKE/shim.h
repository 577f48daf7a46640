// LAPACKE over OpenBLAS (Debian liblapacke-dev, libopenblas-dev): symmetric eigen-decompositions.
#include <lapacke.h>
