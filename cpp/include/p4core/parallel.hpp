// p4core kernel: thread-count helpers that work with and without OpenMP.
#pragma once

#ifdef P4CORE_HAS_OPENMP
#include <omp.h>
#endif

namespace p4core {

inline bool has_openmp() {
#ifdef P4CORE_HAS_OPENMP
  return true;
#else
  return false;
#endif
}

inline int max_threads() {
#ifdef P4CORE_HAS_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// 0 or negative means "the OpenMP default" (OMP_NUM_THREADS or the core count).
inline int resolve_threads(int n_threads) { return n_threads > 0 ? n_threads : max_threads(); }

}  // namespace p4core
