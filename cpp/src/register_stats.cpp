// Bindings of the weighted rank sums (p4core/ranks.hpp): the cell-level tests of every twin in one pass.
#include "binding_utils.hpp"
#include "p4core/ranks.hpp"

namespace p4core::bind {
namespace {

template <class T>
py::tuple rank_sums_t(const py::array& indptr_, const py::array& rows_, const py::array& vals_,
                      const py::array& weights_, const py::array& group_, int n_threads) {
  auto indptr = take<std::int64_t>(indptr_, "indptr", 1);
  auto rows = take<std::int64_t>(rows_, "rows", 1);
  auto vals = take<T>(vals_, "vals", 1);
  auto weights = take<double>(weights_, "weights", 2);
  auto group = take<std::int8_t>(group_, "group", 1);
  const std::int64_t n_cells = weights.shape(0), n_w = weights.shape(1), n_genes = indptr.shape(0) - 1;
  require(n_genes >= 0, "indptr must have n_genes + 1 >= 1 entries");
  require(group.shape(0) == n_cells, "group must have one entry per row of weights (cells)");
  const std::int64_t* ip = indptr.data();
  require(ip[0] == 0, "indptr[0] must be 0");
  for (std::int64_t j = 0; j < n_genes; ++j) require(ip[j + 1] >= ip[j], "indptr must be non-decreasing");
  const std::int64_t nnz = ip[n_genes];
  require(rows.shape(0) == nnz && vals.shape(0) == nnz, "rows and vals must have indptr[-1] entries");
  const std::int64_t* rp = rows.data();
  for (std::int64_t e = 0; e < nnz; ++e)
    if (rp[e] < 0 || rp[e] >= n_cells) throw py::index_error("rows out of range for the cells of weights");
  const T* vp = vals.data();
  for (std::int64_t e = 0; e < nnz; ++e)
    require(vp[e] > 0, "vals must be > 0 (the zeros are the cells a column does not store)");
  const double* wp = weights.data();
  for (std::int64_t e = 0; e < n_cells * n_w; ++e) require(wp[e] >= 0, "weights must be >= 0");
  py::array_t<double, py::array::c_style> rank1({n_w, n_genes}), ties({n_w, n_genes}), sum1({n_w, n_genes}),
      sum0({n_w, n_genes});
  double *r1 = rank1.mutable_data(), *tj = ties.mutable_data(), *s1 = sum1.mutable_data(),
         *s0 = sum0.mutable_data();
  const std::int8_t* gp = group.data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    weighted_rank_sums(n_cells, n_genes, ip, rp, vp, wp, n_w, gp, r1, tj, s1, s0, nt);
  }
  return py::make_tuple(rank1, ties, sum1, sum0);
}

}  // namespace

void register_stats(py::module_& m) {
  m.def(
      "rank_sums",
      [](const py::array& indptr, const py::array& rows, const py::array& vals, const py::array& weights,
         const py::array& group, int n_threads) -> py::tuple {
        return by_dtype(vals, "vals", [&](auto t) {
          return rank_sums_t<decltype(t)>(indptr, rows, vals, weights, group, n_threads);
        });
      },
      py::arg("indptr").noconvert(), py::arg("rows").noconvert(), py::arg("vals").noconvert(),
      py::arg("weights").noconvert(), py::arg("group").noconvert(), py::arg("n_threads") = 0,
      "Weighted rank sums of a CSC matrix (cells x genes, values > 0, zeros implicit) for every column of "
      "weights (cells x R): (rank sum of group 1, tie term, weighted sum of group 1, of group 0), each R x "
      "genes; see p4core/ranks.hpp.");
}

}  // namespace p4core::bind
