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

// Inside a parallel region: this thread's number and the team size (0 and 1 without OpenMP).
inline int omp_thread_num() {
#ifdef P4CORE_HAS_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline int omp_threads() {
#ifdef P4CORE_HAS_OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// A barrier of the innermost enclosing parallel region (every thread of the team must reach it).
inline void team_barrier() {
#ifdef P4CORE_HAS_OPENMP
#pragma omp barrier
#endif
}

// 0 or negative means "the OpenMP default" (OMP_NUM_THREADS or the core count).
inline int resolve_threads(int n_threads) { return n_threads > 0 ? n_threads : max_threads(); }

}  // namespace p4core
