// Bindings of the sign-constrained ridge fit of edge strengths.
#include "binding_utils.hpp"
#include "p4core/fit.hpp"

namespace p4core::bind {
namespace {

template <class T>
py::array fit_t(const py::array& expr_, const py::array& targets_, const py::array& indptr_,
                const py::array& indices_, const py::array& signs_, double lambda, int n_threads) {
  auto expr = take<T>(expr_, "expr", 2);
  auto targets = take<std::int64_t>(targets_, "targets", 1);
  auto indptr = take<std::int64_t>(indptr_, "indptr", 1);
  auto indices = take<std::int64_t>(indices_, "indices", 1);
  auto signs = take<double>(signs_, "signs", 1);
  const std::int64_t n_genes = expr.shape(0), n_cells = expr.shape(1), n_rows = targets.shape(0);
  require(indptr.shape(0) == n_rows + 1, "indptr must have len(targets) + 1 entries");
  const std::int64_t* ip = indptr.data();
  require(ip[0] == 0, "indptr[0] must be 0");
  for (std::int64_t r = 0; r < n_rows; ++r) require(ip[r + 1] >= ip[r], "indptr must be non-decreasing");
  const std::int64_t nnz = ip[n_rows];
  require(indices.shape(0) == nnz && signs.shape(0) == nnz, "indices and signs must have indptr[-1] entries");
  for (std::int64_t r = 0; r < n_rows; ++r)
    if (targets.data()[r] < 0 || targets.data()[r] >= n_genes) throw py::index_error("targets out of range");
  for (std::int64_t e = 0; e < nnz; ++e)
    if (indices.data()[e] < 0 || indices.data()[e] >= n_genes) throw py::index_error("indices out of range");
  require(lambda >= 0 && std::isfinite(lambda), "lambda must be >= 0");
  py::array_t<double, py::array::c_style> out({nnz});
  double* o = out.mutable_data();
  std::fill(o, o + nnz, 0.0);
  const T* ep = expr.data();
  const std::int64_t *tp = targets.data(), *xp = indices.data();
  const double* sp = signs.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    fit_ridge_signed(ep, n_cells, tp, n_rows, ip, xp, sp, lambda, o, nt);
  }
  return std::move(out);
}

}  // namespace

void register_fit(py::module_& m) {
  m.def(
      "fit_ridge_signed",
      [](const py::array& expr, const py::array& targets, const py::array& indptr, const py::array& indices,
         const py::array& signs, double lambda, int n_threads) -> py::array {
        return by_dtype(expr, "expr", [&](auto t) {
          return fit_t<decltype(t)>(expr, targets, indptr, indices, signs, lambda, n_threads);
        });
      },
      py::arg("expr").noconvert(), py::arg("targets").noconvert(), py::arg("indptr").noconvert(),
      py::arg("indices").noconvert(), py::arg("signs").noconvert(), py::arg("lam"), py::arg("n_threads") = 0,
      "Sign-constrained ridge coefficients of every target (row) on its regulators; expr is genes x cells.");
}

}  // namespace p4core::bind
