// Bindings of the propagation and scoring kernels (float32 and float64).
#include "binding_utils.hpp"
#include "p4core/propagate.hpp"

namespace p4core::bind {
namespace {

template <class T>
py::array propagate_t(const py::array& indptr, const py::array& indices, const py::array& data,
                      const py::array& u_, double alpha, int K, int n_threads) {
  auto u = take<T>(u_, "u", 2);
  const std::int64_t n = u.shape(0), B = u.shape(1);
  Csr<T> a(indptr, indices, data, n, "u (n_nodes x n_perturbations)");
  require(K >= 0, "K (propagation steps) must be >= 0, got " + std::to_string(K));
  require(std::isfinite(alpha), "alpha must be finite");
  py::array_t<T, py::array::c_style> out({n, B});
  T* o = out.mutable_data();
  const T* up = u.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
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

}  // namespace

void register_propagate(py::module_& m) {
  m.def(
      "propagate",
      [](const py::array& indptr, const py::array& indices, const py::array& data, const py::array& u,
         double alpha, int K, int n_threads) -> py::array {
        if (data.dtype().is(py::dtype::of<float>())) return propagate_t<float>(indptr, indices, data, u, alpha, K, n_threads);
        if (data.dtype().is(py::dtype::of<double>())) return propagate_t<double>(indptr, indices, data, u, alpha, K, n_threads);
        throw py::type_error("data must have dtype float32 or float64, got " + dtype_name(data));
      },
      py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("data").noconvert(),
      py::arg("u").noconvert(), py::arg("alpha"), py::arg("K"), py::arg("n_threads") = 0,
      "x = sum_{k=0..K} (alpha A)^k u for a CSR operator A (int32 indptr/indices) and a C-contiguous "
      "block u (n_nodes x B) of the same dtype as data.");
  m.def(
      "reversal_scores",
      [](const py::array& x, const py::array& s, const py::array& w, const py::array& offsets, int n_threads) -> py::tuple {
        if (x.dtype().is(py::dtype::of<float>())) return scores_t<float>(x, s, w, offsets, n_threads);
        if (x.dtype().is(py::dtype::of<double>())) return scores_t<double>(x, s, w, offsets, n_threads);
        throw py::type_error("x must have dtype float32 or float64, got " + dtype_name(x));
      },
      py::arg("x").noconvert(), py::arg("s").noconvert(), py::arg("w").noconvert(), py::arg("offsets").noconvert(),
      py::arg("n_threads") = 0,
      "Reversal score -cos_W(x_b, s) of every column of x, and its part per cell type (offsets).");
}

}  // namespace p4core::bind
