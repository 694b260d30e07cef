// p4core kernel: sign-constrained ridge regression of every target gene on its prior regulators.
//
// For target j with regulators R_j (a CSR row of the prior network), solve
//   min_b |y_j - X_R b|^2 + lambda n |b|^2   subject to  sign(b_e) in {sign_e, 0}
// on standardised expression (genes x cells, each gene's cells contiguous). The constraint is
// met by an active set: solve on the active regulators, drop the one whose coefficient has the
// most wrong sign, solve again, until every coefficient agrees with its prior sign (at most k
// rounds). Targets are fitted in parallel, each by one thread: results do not depend on the
// thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "p4core/parallel.hpp"

namespace p4core {

// Solves (A + ridge I) b = r in place for a small symmetric positive definite A (k x k, row-major)
// by Cholesky; returns false when A is not positive definite.
inline bool cholesky_solve(std::vector<double>& a, std::vector<double>& r, std::int64_t k) {
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = 0; j <= i; ++j) {
      double s = a[i * k + j];
      for (std::int64_t p = 0; p < j; ++p) s -= a[i * k + p] * a[j * k + p];
      if (i == j) {
        if (s <= 0.0) return false;
        a[i * k + i] = std::sqrt(s);
      } else {
        a[i * k + j] = s / a[j * k + j];
      }
    }
  }
  for (std::int64_t i = 0; i < k; ++i) {  // L z = r
    double s = r[i];
    for (std::int64_t p = 0; p < i; ++p) s -= a[i * k + p] * r[p];
    r[i] = s / a[i * k + i];
  }
  for (std::int64_t i = k - 1; i >= 0; --i) {  // L' b = z
    double s = r[i];
    for (std::int64_t p = i + 1; p < k; ++p) s -= a[p * k + i] * r[p];
    r[i] = s / a[i * k + i];
  }
  return true;
}

// expr: n_genes x n_cells (row-major); targets: the gene of every CSR row; indptr/indices: the
// regulators (gene indices) of every row; signs: the prior sign of every edge; out: coefficients.
template <class T>
void fit_ridge_signed(const T* expr, std::int64_t n_cells, const std::int64_t* targets, std::int64_t n_rows,
                      const std::int64_t* indptr, const std::int64_t* indices, const double* signs, double lambda,
                      double* out, int n_threads) {
#pragma omp parallel for schedule(dynamic, 8) num_threads(n_threads)
  for (std::int64_t row = 0; row < n_rows; ++row) {
    const std::int64_t e0 = indptr[row], k = indptr[row + 1] - e0;
    if (k == 0) continue;
    const T* y = expr + targets[row] * n_cells;
    std::vector<double> xtx(k * k), xty(k);
    for (std::int64_t a = 0; a < k; ++a) {
      const T* xa = expr + indices[e0 + a] * n_cells;
      double sy = 0.0;
      for (std::int64_t c = 0; c < n_cells; ++c) sy += double(xa[c]) * y[c];
      xty[a] = sy;
      for (std::int64_t b = 0; b <= a; ++b) {
        const T* xb = expr + indices[e0 + b] * n_cells;
        double s = 0.0;
        for (std::int64_t c = 0; c < n_cells; ++c) s += double(xa[c]) * xb[c];
        xtx[a * k + b] = xtx[b * k + a] = s;
      }
    }
    std::vector<char> active(k, 1);
    std::vector<double> coef(k, 0.0);
    for (std::int64_t round = 0; round <= k; ++round) {
      std::vector<std::int64_t> idx;
      for (std::int64_t a = 0; a < k; ++a)
        if (active[a]) idx.push_back(a);
      const std::int64_t m = static_cast<std::int64_t>(idx.size());
      std::fill(coef.begin(), coef.end(), 0.0);
      if (m == 0) break;
      std::vector<double> a_(m * m), r_(m);
      for (std::int64_t i = 0; i < m; ++i) {
        r_[i] = xty[idx[i]];
        for (std::int64_t j = 0; j < m; ++j) a_[i * m + j] = xtx[idx[i] * k + idx[j]];
        a_[i * m + i] += lambda * double(n_cells);
      }
      if (!cholesky_solve(a_, r_, m)) break;  // degenerate (constant genes): leave zeros
      std::int64_t worst = -1;
      double worst_v = 0.0;
      for (std::int64_t i = 0; i < m; ++i) {
        coef[idx[i]] = r_[i];
        const double v = r_[i] * signs[e0 + idx[i]];
        if (v < worst_v) {
          worst_v = v;
          worst = idx[i];
        }
      }
      if (worst < 0) break;
      active[worst] = 0;
    }
    for (std::int64_t a = 0; a < k; ++a) out[e0 + a] = coef[a];
  }
}

}  // namespace p4core
