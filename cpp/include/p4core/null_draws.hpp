// p4core kernel: the views of random target sets (the null model's draws) from a pool's products.
//
// A draw is k pool genes D_1..D_k with coefficients c_1..c_k; its response is x = sum_i c_i x_{D_i}.
// From one twin's pool products — signature products num (P), seed products (P), the Gram G (P x P),
// every pool gene's response at every pool gene's nodes Q (P x C x P), the weights w and weighted
// signature ws at those nodes (P x C) — the draw's marker and programme scores are
//   marker    = -sum_i c_i seed[D_i] / |s|
//   programme = -(sum_i c_i num[D_i] - sum_{m,c} ws[D_m,c] y_mc) / (sqrt(n2) |s|),
//   y_mc = sum_i c_i Q[D_m, c, D_i],  n2 = sum_ij c_i c_j G[D_i, D_j] - sum_{m,c} w[D_m,c] y_mc^2
// (the draw's own genes' nodes left out, a gene drawn twice counted once), optionally centred within
// cell types (wsum, C x P, and the cell types' total weights w_ct). Draws in parallel, each in a fixed
// order: the same bits for any thread count.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "p4core/parallel.hpp"

namespace p4core {

struct PoolProducts {
  std::int64_t P = 0, C = 0;
  const double *num = nullptr, *seed = nullptr, *gram = nullptr, *q = nullptr, *w = nullptr, *ws = nullptr;
  const double *wsum = nullptr, *w_ct = nullptr;  // null unless centred
  double s_norm = 0.0, own_only = 1e-6;
};

inline void null_draw_views(const PoolProducts& pp, const std::int64_t* draws, std::int64_t n, std::int64_t k,
                            const double* coef, double* marker, double* programme, int n_threads) {
  const std::int64_t P = pp.P, C = pp.C;
#pragma omp parallel num_threads(n_threads) if (n * k * k * C > 20000)
  {
    std::vector<double> ws_c(static_cast<std::size_t>(C));
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t* d = draws + r * k;
      double total = 0.0, seed = 0.0, full2 = 0.0;
      for (std::int64_t i = 0; i < k; ++i) {
        total += coef[i] * pp.num[d[i]];
        seed += coef[i] * pp.seed[d[i]];
        const double* gi = pp.gram + d[i] * P;
        double row = 0.0;
        for (std::int64_t j = 0; j < k; ++j) row += coef[j] * gi[d[j]];
        full2 += coef[i] * row;
      }
      double corr_sq = 0.0, corr_num = 0.0;
      for (std::int64_t c = 0; c < C; ++c) ws_c[static_cast<std::size_t>(c)] = 0.0;
      for (std::int64_t m = 0; m < k; ++m) {
        bool dup = false;
        for (std::int64_t mm = 0; mm < m && !dup; ++mm) dup = d[mm] == d[m];
        if (dup) continue;
        for (std::int64_t c = 0; c < C; ++c) {
          const double* qm = pp.q + (d[m] * C + c) * P;
          double y = 0.0;
          for (std::int64_t i = 0; i < k; ++i) y += coef[i] * qm[d[i]];
          const double wv = pp.w[d[m] * C + c];
          corr_sq += wv * y * y;
          corr_num += pp.ws[d[m] * C + c] * y;
          ws_c[static_cast<std::size_t>(c)] += wv * y;
        }
      }
      double norm2 = full2 - corr_sq;
      if (pp.wsum != nullptr) {
        for (std::int64_t c = 0; c < C; ++c) {
          double s = 0.0;
          for (std::int64_t i = 0; i < k; ++i) s += coef[i] * pp.wsum[c * P + d[i]];
          s -= ws_c[static_cast<std::size_t>(c)];
          if (pp.w_ct[c] > 0) norm2 -= s * s / pp.w_ct[c];
        }
      }
      const bool live = norm2 > pp.own_only * std::fabs(full2);
      const double denom = live ? std::sqrt(norm2) * pp.s_norm : 0.0;
      programme[r] = live && denom > 0 ? -(total - corr_num) / denom : 0.0;
      marker[r] = pp.s_norm > 0 ? -seed / pp.s_norm : 0.0;
    }
  }
}

}  // namespace p4core
