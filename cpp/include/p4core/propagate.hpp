// p4core kernel: propagation of perturbation blocks through a sparse operator, and the
// reversal score of each propagated response against a disease signature.
//
// Model (docs/design.md, "The model"): x = sum_{k=0..K} (alpha A)^k u, for a block of B perturbations u
// stored as the columns of a row-major N x B matrix. Every output row is computed by one
// thread in a fixed order, so the result is bitwise identical for any thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"
#include "p4core/simd.hpp"

namespace p4core {

// y[:, c0:c0+W] = alpha * A x[:, c0:c0+W] for a panel of W columns (compile-time: the row's W sums stay in
// registers), the source rows prefetched kSpmmAhead entries ahead (the gathers are what bounds it).
// spmm_rows does rows [i0, i1) in a runtime-dispatched clone (AVX-512, AVX2 or the baseline: the same
// operations per lane, hence the same bits); spmm_panel hands chunks of 256 rows to the threads.
constexpr std::int32_t kSpmmAhead = 32;
template <int W, class T>
P4CORE_INLINE void spmm_rows_impl(const CsrView<T>& a, const T* x, T* y, std::int64_t B, std::int64_t c0, T alpha,
                                  std::int64_t i0, std::int64_t i1) {
  const std::int32_t last = std::max<std::int32_t>(a.indptr[a.n_rows] - 1, 0);
  for (std::int64_t i = i0; i < i1; ++i) {
    T acc[W] = {};
    for (std::int32_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k) {
      __builtin_prefetch(x + static_cast<std::int64_t>(a.indices[std::min(k + kSpmmAhead, last)]) * B + c0);
      const T v = alpha * a.data[k];  // (alpha a) x, summed in stored order
      const T* xj = x + static_cast<std::int64_t>(a.indices[k]) * B + c0;
#pragma omp simd
      for (int b = 0; b < W; ++b) acc[b] += v * xj[b];
    }
    std::copy(acc, acc + W, y + i * B + c0);
  }
}
#define P4CORE_SPMM_ROWS(W, T)                                                                                     \
  P4CORE_CLONES inline void spmm_rows(std::integral_constant<int, W>, const CsrView<T>& a, const T* x, T* y,        \
                                      std::int64_t B, std::int64_t c0, T alpha, std::int64_t i0, std::int64_t i1) { \
    spmm_rows_impl<W, T>(a, x, y, B, c0, alpha, i0, i1);                                                           \
  }
P4CORE_SPMM_ROWS(16, float)
P4CORE_SPMM_ROWS(8, float)
P4CORE_SPMM_ROWS(4, float)
P4CORE_SPMM_ROWS(2, float)
P4CORE_SPMM_ROWS(1, float)
P4CORE_SPMM_ROWS(16, double)
P4CORE_SPMM_ROWS(8, double)
P4CORE_SPMM_ROWS(4, double)
P4CORE_SPMM_ROWS(2, double)
P4CORE_SPMM_ROWS(1, double)
#undef P4CORE_SPMM_ROWS

template <int W, class T>
void spmm_panel(const CsrView<T>& a, const T* x, T* y, std::int64_t B, std::int64_t c0, T alpha, int n_threads) {
  const std::int64_t n = a.n_rows, chunk = 256, n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n * W > 4096)
  for (std::int64_t ch = 0; ch < n_chunks; ++ch)
    spmm_rows(std::integral_constant<int, W>{}, a, x, y, B, c0, alpha, ch * chunk, std::min(n, (ch + 1) * chunk));
}

// y = alpha * A x, with x and y row-major (n_cols x B) and (n_rows x B): panels of 16, 8, 4, 2 and 1
// columns. Every entry is the sum of its row's entries in stored order, whatever the panel or thread.
template <class T>
void spmm(const CsrView<T>& a, const T* x, T* y, std::int64_t B, T alpha, int n_threads) {
  std::int64_t c0 = 0;
  for (; c0 + 16 <= B; c0 += 16) spmm_panel<16>(a, x, y, B, c0, alpha, n_threads);
  if (c0 + 8 <= B) { spmm_panel<8>(a, x, y, B, c0, alpha, n_threads); c0 += 8; }
  if (c0 + 4 <= B) { spmm_panel<4>(a, x, y, B, c0, alpha, n_threads); c0 += 4; }
  if (c0 + 2 <= B) { spmm_panel<2>(a, x, y, B, c0, alpha, n_threads); c0 += 2; }
  if (c0 < B) spmm_panel<1>(a, x, y, B, c0, alpha, n_threads);
}

// out = sum_{k=0..K} (alpha A)^k u by Horner steps z_k = alpha A z_{k-1} + u (z_0 = u; the same
// order of operations as the column-blocked kernel in block_propagate.hpp, hence the same bits).
// `u` and `out` are row-major N x B, A is N x N.
template <class T>
void propagate(const CsrView<T>& a, const T* u, T* out, std::int64_t B, T alpha, int K, int n_threads) {
  const std::int64_t size = a.n_rows * B;
  std::memcpy(out, u, sizeof(T) * static_cast<std::size_t>(size));
  if (K <= 0 || size == 0) return;
  std::vector<T> p(u, u + size), q(static_cast<std::size_t>(size));
  for (int k = 1; k <= K; ++k) {
    spmm(a, p.data(), q.data(), B, alpha, n_threads);
#pragma omp parallel for schedule(static) num_threads(n_threads) if (size > 65536)
    for (std::int64_t i = 0; i < size; ++i) q[i] = u[i] != T(0) ? q[i] + u[i] : q[i];
    p.swap(q);
  }
  std::memcpy(out, p.data(), sizeof(T) * static_cast<std::size_t>(size));
}

// Reversal score of each column of x (row-major N x B) against the signature s (N), with
// node weights w (N) and cell-type blocks given by offsets (C + 1, offsets[C] == N).
//   score[b]      = -<x_b, s>_w / (|x_b|_w |s|_w)          (R = -cos_W(x, s))
//   parts[b, c]   = the part of score[b] contributed by the nodes of cell type c
// A column with no response scores 0. Sums are accumulated in double.
template <class T>
void reversal_scores(const T* x, const T* s, const T* w, const std::int64_t* offsets, std::int64_t N,
                     std::int64_t B, std::int64_t C, double* score, double* parts, int n_threads) {
  double ss = 0.0;
  for (std::int64_t i = 0; i < N; ++i) ss += double(w[i]) * double(s[i]) * double(s[i]);
  const double s_norm = std::sqrt(ss);
  // Columns are split into fixed chunks; each column is reduced by one thread over all rows.
  const std::int64_t chunk = 64;
  const std::int64_t n_chunks = (B + chunk - 1) / chunk;
#pragma omp parallel num_threads(n_threads) if (N * B > 16384)
  {
    std::vector<double> xx(chunk), num(chunk * std::max<std::int64_t>(C, 1));
#pragma omp for schedule(static)
    for (std::int64_t ch = 0; ch < n_chunks; ++ch) {
      const std::int64_t b0 = ch * chunk, b1 = std::min(B, b0 + chunk), nb = b1 - b0;
      std::fill(xx.begin(), xx.end(), 0.0);
      std::fill(num.begin(), num.end(), 0.0);
      for (std::int64_t c = 0; c < C; ++c) {
        double* numc = num.data() + c * chunk;
        for (std::int64_t i = offsets[c]; i < offsets[c + 1]; ++i) {
          const double wi = w[i], wsi = wi * double(s[i]);
          const T* xi = x + i * B + b0;
          for (std::int64_t b = 0; b < nb; ++b) {
            const double v = xi[b];
            xx[b] += wi * v * v;
            numc[b] += wsi * v;
          }
        }
      }
      for (std::int64_t b = 0; b < nb; ++b) {
        const double denom = std::sqrt(xx[b]) * s_norm;
        double total = 0.0;
        for (std::int64_t c = 0; c < C; ++c) {
          const double part = denom > 0.0 ? -num[c * chunk + b] / denom : 0.0;
          parts[(b0 + b) * C + c] = part;
          total += part;
        }
        score[b0 + b] = total;
      }
    }
  }
}

}  // namespace p4core
