// Weighted rank sums of a sparse (cells x genes) matrix, column by column, for many weightings of the cells
// at once: the Wilcoxon-Mann-Whitney statistics of every bootstrap twin of a cell type from one pass.
//
// A cell drawn k times by a bootstrap counts as k tied copies of itself, so its weight is k. Per gene the
// zeros (every cell the column does not store) form one tie group below the stored values (which must be
// > 0, e.g. log-normalised counts). A tie group of total weight t that follows cumulative weight c has the
// mid-rank c + (t + 1) / 2. For every weighting r and gene j the kernel returns
//   rank1[r, j]  the rank sum of the group-1 cells (weighted),
//   ties[r, j]   sum over tie groups of t^3 - t (the tie correction of the variance),
//   sum1[r, j], sum0[r, j]  the weighted sums of the values of group-1 and group-0 cells.
// Columns are independent (parallel over genes); within a column the order of work is fixed, so the
// numbers do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "p4core/parallel.hpp"

namespace p4core {

template <class T>
void weighted_rank_sums(std::int64_t n_cells, std::int64_t n_genes, const std::int64_t* indptr,
                        const std::int64_t* rows, const T* vals, const double* weights /* cells x R */,
                        std::int64_t n_w, const std::int8_t* group, double* rank1, double* ties, double* sum1,
                        double* sum0, int n_threads) {
#ifndef P4CORE_HAS_OPENMP
  (void)n_threads;  // a build without OpenMP runs the columns in order
#endif
  const std::int64_t R = n_w;
  std::vector<double> total1(R, 0.0), total0(R, 0.0);
  for (std::int64_t i = 0; i < n_cells; ++i) {
    const double* w = weights + i * R;
    double* tot = group[i] ? total1.data() : total0.data();
    for (std::int64_t r = 0; r < R; ++r) tot[r] += w[r];
  }
#ifdef P4CORE_HAS_OPENMP
#pragma omp parallel num_threads(n_threads)
#endif
  {
    std::vector<std::pair<T, std::int64_t>> col;
    std::vector<double> nz1(R), nz0(R), cum(R), tw(R), tw1(R);
#ifdef P4CORE_HAS_OPENMP
#pragma omp for schedule(dynamic, 16)
#endif
    for (std::int64_t j = 0; j < n_genes; ++j) {
      const std::int64_t a = indptr[j], b = indptr[j + 1];
      col.resize(static_cast<std::size_t>(b - a));
      for (std::int64_t e = a; e < b; ++e) col[e - a] = {vals[e], rows[e]};
      std::sort(col.begin(), col.end());
      double* r1 = rank1 + j;
      double* tj = ties + j;
      double* s1 = sum1 + j;
      double* s0 = sum0 + j;
      std::fill(nz1.begin(), nz1.end(), 0.0);
      std::fill(nz0.begin(), nz0.end(), 0.0);
      for (std::int64_t r = 0; r < R; ++r) s1[r * n_genes] = s0[r * n_genes] = 0.0;
      for (const auto& [v, i] : col) {
        const double* w = weights + i * R;
        double* nz = group[i] ? nz1.data() : nz0.data();
        double* s = group[i] ? s1 : s0;
        for (std::int64_t r = 0; r < R; ++r) {
          nz[r] += w[r];
          s[r * n_genes] += w[r] * static_cast<double>(v);
        }
      }
      // the zeros: one tie group at the bottom
      for (std::int64_t r = 0; r < R; ++r) {
        const double z1 = total1[r] - nz1[r], z = z1 + total0[r] - nz0[r];
        r1[r * n_genes] = z1 * (z + 1.0) / 2.0;
        tj[r * n_genes] = z * z * z - z;
        cum[r] = z;
      }
      std::size_t g = 0;
      while (g < col.size()) {
        std::size_t h = g;
        std::fill(tw.begin(), tw.end(), 0.0);
        std::fill(tw1.begin(), tw1.end(), 0.0);
        while (h < col.size() && col[h].first == col[g].first) {
          const double* w = weights + col[h].second * R;
          const bool one = group[col[h].second] != 0;
          for (std::int64_t r = 0; r < R; ++r) {
            tw[r] += w[r];
            if (one) tw1[r] += w[r];
          }
          ++h;
        }
        for (std::int64_t r = 0; r < R; ++r) {
          const double t = tw[r];
          r1[r * n_genes] += tw1[r] * (cum[r] + (t + 1.0) / 2.0);
          tj[r * n_genes] += t * t * t - t;
          cum[r] += t;
        }
        g = h;
      }
    }
  }
}

}  // namespace p4core
