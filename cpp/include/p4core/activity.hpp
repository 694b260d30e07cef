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

namespace p4core {

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
};

}  // namespace p4core
