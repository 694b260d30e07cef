// p4core kernel: disease activity of a twin's state per cell type, shared by the course kernels.
//
// Owns: CellTypeActivity, the projection of x on each cell type's block of the projection vector p,
//   a_c = <x_c, p_c> / <p_c, p_c>   (0 where p_c = 0),
// summed over the cell type's nodes in ascending order, in double (the same bits for
// simulate.hpp's RK4 reference and course.hpp's adaptive course).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "p4core/simd.hpp"

namespace p4core {

// num[b] = sum over nodes i in [i0, i1) of double(xs[i * B + b]) * p[i], for every column b of the
// row-major N x B block: one pass over the rows, each column summed in ascending i from 0.0 (the same
// bits as CellTypeActivity::operator() column by column). One version per native width (P4CORE_WIDTHS):
// a block of kBlock columns is one row of doubles (Row) per node.
template <class T, int NB>
P4CORE_INLINE void activity_sums_impl(const T* xs, std::int64_t B, const T* p, std::int64_t i0, std::int64_t i1,
                                      double* num) {
  if (B == kBlock) {
    using R = Row<double, NB>;
    typedef T part __attribute__((vector_size(R::L * sizeof(T))));  // the lanes of one native double vector
    R acc = row_zero<double, NB>();
    for (std::int64_t i = i0; i < i1; ++i)
#pragma GCC unroll 16
      for (int j = 0; j < R::P; ++j) {
        part x;
        std::memcpy(&x, xs + i * kBlock + j * R::L, sizeof(x));
        acc.v[j] += __builtin_convertvector(x, typename R::nat) * double(p[i]);
      }
    row_store(num, acc);
    return;
  }
  for (std::int64_t b = 0; b < B; ++b) num[b] = 0.0;
  for (std::int64_t i = i0; i < i1; ++i)
    for (std::int64_t b = 0; b < B; ++b) num[b] += double(xs[i * B + b]) * p[i];
}
P4CORE_WIDTHS(void activity_sums(const float* xs, std::int64_t B, const float* p, std::int64_t i0, std::int64_t i1,
                                 double* num),
              activity_sums_impl<float, NB>(xs, B, p, i0, i1, num);)
P4CORE_WIDTHS(void activity_sums(const double* xs, std::int64_t B, const double* p, std::int64_t i0, std::int64_t i1,
                                 double* num),
              activity_sums_impl<double, NB>(xs, B, p, i0, i1, num);)

template <class T>
struct CellTypeActivity {
  const T* projection;             // p (N)
  const std::int64_t* offsets;     // cell type c holds nodes [offsets[c], offsets[c + 1])
  std::vector<double> pp;          // <p_c, p_c> per cell type

  CellTypeActivity(const T* projection_, const std::int64_t* offsets_, std::int64_t C)
      : projection(projection_), offsets(offsets_), pp(static_cast<std::size_t>(C), 0.0) {
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = offsets[c]; i < offsets[c + 1]; ++i) pp[c] += double(projection[i]) * projection[i];
  }

  // a_c of column b of the row-major N x B block xs.
  double operator()(const T* xs, std::int64_t B, std::int64_t b, std::int64_t c) const {
    double num = 0.0;
    for (std::int64_t i = offsets[c]; i < offsets[c + 1]; ++i) num += double(xs[i * B + b]) * projection[i];
    return pp[c] > 0.0 ? num / pp[c] : 0.0;
  }

  // a_c of every column b < B: out[b * C + c] for every cell type c (num: scratch of B doubles).
  void all(const T* xs, std::int64_t B, std::int64_t C, double* num, double* out) const {
    for (std::int64_t c = 0; c < C; ++c) {
      activity_sums(xs, B, projection, offsets[c], offsets[c + 1], num);
      for (std::int64_t b = 0; b < B; ++b) out[b * C + c] = pp[c] > 0.0 ? num[b] / pp[c] : 0.0;
    }
  }
};

}  // namespace p4core
