// Bindings of the propagation and scoring kernels (float32 and float64).
#include "binding_utils.hpp"
#include "p4core/block_propagate.hpp"
#include "p4core/null_draws.hpp"
#include "p4core/propagate.hpp"
#include "p4core/screen_terms.hpp"
#include "p4core/simd.hpp"

namespace p4core::bind {
namespace {

template <class T>
py::array propagate_t(const py::array& indptr, const py::array& indices, const py::array& data,
                      const py::array& u_, double alpha, int K, int n_threads) {
  auto u = take<T>(u_, "u", 2);
  const std::int64_t n = u.shape(0), B = u.shape(1);
  Csr<T> a(indptr, indices, data, n, "u (n_nodes x n_perturbations)");
  require_steps(K);
  require(std::isfinite(alpha), "alpha must be finite");
  py::array_t<T, py::array::c_style> out({n, B});
  T* o = out.mutable_data();
  const T* up = u.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    // Column blocks when there are enough of them to keep every thread busy, rows otherwise;
    // both compute every entry in the same order (same bits).
    if (B >= kBlock && n_blocks(B) >= nt)
      propagate_blocked(a.view, up, o, B, T(alpha), K, nt);
    else
      propagate(a.view, up, o, B, T(alpha), K, nt);
  }
  return std::move(out);
}

template <class T>
py::tuple scores_t(const py::array& x_, const py::array& s_, const py::array& w_, const py::array& off_,
                   int n_threads) {
  auto x = take<T>(x_, "x", 2);
  auto s = take<T>(s_, "s", 1);
  auto w = take<T>(w_, "w", 1);
  const std::int64_t N = x.shape(0), B = x.shape(1);
  require(s.shape(0) == N, "s has " + std::to_string(s.shape(0)) + " entries but x has " + std::to_string(N) + " rows");
  require(w.shape(0) == N, "w has " + std::to_string(w.shape(0)) + " entries but x has " + std::to_string(N) + " rows");
  auto off = take_offsets(off_, N);
  const std::int64_t C = off.shape(0) - 1;
  py::array_t<double, py::array::c_style> score({B}), parts({B, C});
  double* sc = score.mutable_data();
  double* pa = parts.mutable_data();
  const T *xp = x.data(), *sp = s.data(), *wp = w.data();
  const std::int64_t* op = off.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    reversal_scores(xp, sp, wp, op, N, B, C, sc, pa, nt);
  }
  return py::make_tuple(score, parts);
}

template <class T>
py::tuple screen_terms_t(const py::array& indptr, const py::array& indices, const py::array& data,
                         const py::array& seed_ptr_, const py::array& seed_row_, const py::array& seed_val_,
                         const py::array& w_, const py::array& s_, const py::array& off_, double alpha, int K,
                         double self_weight, const py::array& tiles_, const py::array& probe_, int n_threads) {
  auto w = take<T>(w_, "w", 1);
  const std::int64_t N = w.shape(0);
  Csr<T> a(indptr, indices, data, N, "w (one weight per node)");
  auto s = take<T>(s_, "s", 1);
  require(s.shape(0) == N, "s has " + std::to_string(s.shape(0)) + " entries but w has " + std::to_string(N));
  auto off = take_offsets(off_, N);
  const std::int64_t C = off.shape(0) - 1;
  auto seed_ptr = take<std::int64_t>(seed_ptr_, "seed_ptr", 1);
  auto seed_row = take<std::int32_t>(seed_row_, "seed_row", 1);
  auto seed_val = take<T>(seed_val_, "seed_val", 1);
  require(seed_ptr.shape(0) >= 1, "seed_ptr must have n_columns + 1 >= 1 entries");
  const std::int64_t n = seed_ptr.shape(0) - 1;
  const std::int64_t* sp = seed_ptr.data();
  require(sp[0] == 0 && sp[n] == seed_row.shape(0) && seed_row.shape(0) == seed_val.shape(0),
          "seed_ptr must start at 0 and end at len(seed_row) == len(seed_val)");
  for (std::int64_t j = 0; j < n; ++j) require(sp[j + 1] >= sp[j], "seed_ptr must be non-decreasing");
  require_nodes(seed_row, "seed_row", N);
  auto tiles = take<std::int64_t>(tiles_, "tiles", 2);
  require(tiles.shape(1) == 2, "tiles must have shape (n_tiles, 2)");
  const std::int64_t n_tiles = tiles.shape(0), nb = n_blocks(n);
  for (std::int64_t k = 0; k < 2 * n_tiles; ++k)
    require(tiles.data()[k] >= 0 && tiles.data()[k] < nb, "tiles name a block outside [0, " + std::to_string(nb) + ")");
  require_steps(K);
  auto probe_rows = take<std::int32_t>(probe_, "probe_rows", 1);
  const std::int64_t n_probe = probe_rows.shape(0);
  require_nodes(probe_rows, "probe_rows", N);
  py::array_t<double, py::array::c_style> num({C, n}), wsum({C, n}), sq({n}), g({n_tiles, kBlock, kBlock});
  py::array_t<double, py::array::c_style> probe({n_probe, n});
  double* pr = probe.mutable_data();
  const std::int32_t* prow = probe_rows.data();
  double *nump = num.mutable_data(), *sqp = sq.mutable_data(), *gp = g.mutable_data(), *wsp = wsum.mutable_data();
  const std::int32_t* rp = seed_row.data();
  const T *vp = seed_val.data(), *wp = w.data(), *spg = s.data();
  const std::int64_t *op = off.data(), *tp = tiles.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    screen_terms(a.view, sp, rp, vp, n, wp, spg, op, C, T(alpha), K, T(self_weight), tp, n_tiles, nump, sqp, wsp, gp,
                 prow, n_probe, pr, nt);
  }
  return py::make_tuple(num, sq, wsum, g, probe);
}

py::tuple null_views_t(const py::array& num_, const py::array& seed_, const py::array& gram_, const py::array& q_,
                       const py::array& w_, const py::array& ws_, double s_norm, const py::array& draws_,
                       const py::array& coef_, const py::object& wsum_, const py::object& w_ct_, double own_only,
                       int n_threads) {
  auto num = take<double>(num_, "num", 1);
  const std::int64_t P = num.shape(0);
  auto seed = take<double>(seed_, "seed", 1);
  auto gram = take<double>(gram_, "gram", 2);
  auto q = take<double>(q_, "q", 3);
  auto w = take<double>(w_, "w", 2);
  auto ws = take<double>(ws_, "ws", 2);
  auto draws = take<std::int64_t>(draws_, "draws", 2);
  auto coef = take<double>(coef_, "coef", 1);
  const std::int64_t C = q.shape(1), n = draws.shape(0), k = draws.shape(1);
  require(seed.shape(0) == P && gram.shape(0) == P && gram.shape(1) == P, "seed (P) and gram (P x P) must match num (P)");
  require(q.shape(0) == P && q.shape(2) == P, "q must be P x C x P");
  require(w.shape(0) == P && w.shape(1) == C && ws.shape(0) == P && ws.shape(1) == C, "w and ws must be P x C");
  require(coef.shape(0) == k, "coef must have one entry per column of draws");
  const std::int64_t* dp = draws.data();
  for (std::int64_t e = 0; e < n * k; ++e) require(dp[e] >= 0 && dp[e] < P, "draws index a gene outside the pool");
  PoolProducts pp;
  pp.P = P;
  pp.C = C;
  pp.num = num.data();
  pp.seed = seed.data();
  pp.gram = gram.data();
  pp.q = q.data();
  pp.w = w.data();
  pp.ws = ws.data();
  pp.s_norm = s_norm;
  pp.own_only = own_only;
  py::array_t<double, py::array::c_style> wsum, w_ct;
  if (!wsum_.is_none()) {
    wsum = take<double>(wsum_.cast<py::array>(), "wsum", 2);
    w_ct = take<double>(w_ct_.cast<py::array>(), "w_ct", 1);
    require(wsum.shape(0) == C && wsum.shape(1) == P && w_ct.shape(0) == C, "wsum must be C x P and w_ct C");
    pp.wsum = wsum.data();
    pp.w_ct = w_ct.data();
  }
  py::array_t<double, py::array::c_style> mk({n}), pg({n});
  double *mp = mk.mutable_data(), *gp = pg.mutable_data();
  const double* cp = coef.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    null_draw_views(pp, dp, n, k, cp, mp, gp, nt);
  }
  return py::make_tuple(mk, pg);
}

}  // namespace

void register_propagate(py::module_& m) {
  m.def("null_views", &null_views_t, py::arg("num").noconvert(), py::arg("seed").noconvert(),
        py::arg("gram").noconvert(), py::arg("q").noconvert(), py::arg("w").noconvert(), py::arg("ws").noconvert(),
        py::arg("s_norm"), py::arg("draws").noconvert(), py::arg("coef").noconvert(), py::arg("wsum") = py::none(),
        py::arg("w_ct") = py::none(), py::arg("own_only") = 1e-6, py::arg("n_threads") = 0,
        "Marker and programme scores of random target sets (draws: n x k pool positions, coef: k) from one "
        "twin's pool products; see p4core/null_draws.hpp.");
  m.def(
      "propagate",
      [](const py::array& indptr, const py::array& indices, const py::array& data, const py::array& u,
         double alpha, int K, int n_threads) -> py::array {
        return by_dtype(data, "data", [&](auto t) {
          return propagate_t<decltype(t)>(indptr, indices, data, u, alpha, K, n_threads);
        });
      },
      py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("data").noconvert(),
      py::arg("u").noconvert(), py::arg("alpha"), py::arg("K"), py::arg("n_threads") = 0,
      "x = sum_{k=0..K} (alpha A)^k u for a CSR operator A (int32 indptr/indices) and a C-contiguous "
      "block u (n_nodes x B) of the same dtype as data.");
  m.def(
      "reversal_scores",
      [](const py::array& x, const py::array& s, const py::array& w, const py::array& offsets, int n_threads) -> py::tuple {
        return by_dtype(x, "x", [&](auto t) { return scores_t<decltype(t)>(x, s, w, offsets, n_threads); });
      },
      py::arg("x").noconvert(), py::arg("s").noconvert(), py::arg("w").noconvert(), py::arg("offsets").noconvert(),
      py::arg("n_threads") = 0,
      "Reversal score -cos_W(x_b, s) of every column of x, and its part per cell type (offsets).");
  m.def(
      "screen_terms",
      [](const py::array& indptr, const py::array& indices, const py::array& data, const py::array& seed_ptr,
         const py::array& seed_row, const py::array& seed_val, const py::array& w, const py::array& s,
         const py::array& offsets, double alpha, int K, double self_weight, const py::array& tiles,
         const py::array& probe_rows, int n_threads) -> py::tuple {
        return by_dtype(data, "data", [&](auto t) {
          return screen_terms_t<decltype(t)>(indptr, indices, data, seed_ptr, seed_row, seed_val, w, s, offsets,
                                             alpha, K, self_weight, tiles, probe_rows, n_threads);
        });
      },
      py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("data").noconvert(),
      py::arg("seed_ptr").noconvert(), py::arg("seed_row").noconvert(), py::arg("seed_val").noconvert(),
      py::arg("w").noconvert(), py::arg("s").noconvert(), py::arg("offsets").noconvert(), py::arg("alpha"),
      py::arg("K"), py::arg("self_weight"), py::arg("tiles").noconvert(), py::arg("probe_rows").noconvert(),
      py::arg("n_threads") = 0,
      "Propagate sparse unit perturbations in column blocks of 16 and return the inner products a "
      "screen needs: num (C x n) = per-cell-type <x_j, s>_w, sq (n) = |x_j|_w^2, wsum (C x n) = "
      "per-cell-type sum w x_j, the Gram tiles (n_tiles x 16 x 16) of the requested block pairs, and "
      "probe (n_probe x n) = x_j at the rows probe_rows.");
  m.attr("BLOCK") = kBlock;
}

}  // namespace p4core::bind
