// Shared checks for the binding layer: every array is checked for dtype, layout and shape
// and a failure names the argument. Large arrays are never converted (no hidden copies).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "p4core/csr.hpp"

namespace py = pybind11;

namespace p4core::bind {

inline std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// True when `a` holds T. Compares by equivalence, not identity: an unpickled array (joblib,
// Dask workers) carries its own dtype instance for the same type.
template <class T>
bool has_dtype(const py::array& a) {
  return py::detail::npy_api::get().PyArray_EquivTypes_(py::dtype::of<T>().ptr(), a.dtype().ptr()) != 0;
}

template <class T>
std::string type_name() {
  return py::str(py::dtype::of<T>()).cast<std::string>();
}

// Borrow `a` as a C-contiguous array of T with `ndim` dimensions, or raise naming `name`.
template <class T>
py::array_t<T, py::array::c_style> take(const py::array& a, const char* name, int ndim) {
  if (!has_dtype<T>(a)) {
    throw py::type_error(std::string(name) + " must have dtype " + type_name<T>() + ", got " +
                         dtype_name(a) + " (convert with np.ascontiguousarray(" + name + ", dtype=np." +
                         type_name<T>() + "))");
  }
  if (a.ndim() != ndim) {
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-dimensional, got " +
                          std::to_string(a.ndim()) + " dimensions");
  }
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) + " must be C-contiguous (use np.ascontiguousarray(" + name + "))");
  }
  return py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(a);
}

inline void require(bool ok, const std::string& message) {
  if (!ok) throw py::value_error(message);
}

// f(T{}) for the floating type T that `a` holds, float32 or float64; else a TypeError naming `name`.
// Every binding picks its kernel's instantiation by this one rule.
template <class F>
auto by_dtype(const py::array& a, const char* name, const F& f) -> decltype(f(float{})) {
  if (has_dtype<float>(a)) return f(float{});
  if (has_dtype<double>(a)) return f(double{});
  throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " + dtype_name(a));
}

// K, the number of propagation steps, must be >= 0.
inline void require_steps(int K) { require(K >= 0, "K (propagation steps) must be >= 0, got " + std::to_string(K)); }

// Every entry of `idx` (named `name` in messages) is a node of an n-node operator.
inline void require_nodes(const py::array_t<std::int32_t, py::array::c_style>& idx, const char* name, std::int64_t n) {
  const std::int32_t* p = idx.data();
  for (py::ssize_t e = 0; e < idx.shape(0); ++e)
    require(p[e] >= 0 && p[e] < n, std::string(name) + "[" + std::to_string(e) + "] is out of range for " +
                                       std::to_string(n) + " nodes");
}

// A validated CSR view over three numpy arrays; the arrays must outlive the view.
template <class T>
struct Csr {
  py::array_t<std::int32_t, py::array::c_style> indptr, indices;
  py::array_t<T, py::array::c_style> data;
  CsrView<T> view;

  // A square operator of n x n; `what` names the array that fixes n in messages.
  Csr(const py::array& indptr_, const py::array& indices_, const py::array& data_, std::int64_t n_cols,
      const std::string& what)
      : indptr(take<std::int32_t>(indptr_, "indptr", 1)),
        indices(take<std::int32_t>(indices_, "indices", 1)),
        data(take<T>(data_, "data", 1)) {
    require(indptr.shape(0) >= 1, "indptr must have n_rows + 1 >= 1 entries");
    require(indptr.shape(0) - 1 == n_cols, "operator has " + std::to_string(indptr.shape(0) - 1) + " rows but " +
                                               what + " has " + std::to_string(n_cols) + " rows");
    view.n_rows = indptr.shape(0) - 1;
    view.n_cols = n_cols;
    view.indptr = indptr.data();
    view.indices = indices.data();
    view.data = data.data();
    const std::string err = validate_csr(view, data.shape(0), indices.shape(0));
    if (!err.empty()) throw py::index_error("invalid CSR operator: " + err);
  }
};

inline py::array_t<std::int64_t, py::array::c_style> take_offsets(const py::array& a, std::int64_t n) {
  auto off = take<std::int64_t>(a, "offsets", 1);
  require(off.shape(0) >= 2, "offsets must have n_celltypes + 1 >= 2 entries");
  const std::int64_t* o = off.data();
  require(o[0] == 0, "offsets[0] must be 0");
  for (py::ssize_t c = 1; c < off.shape(0); ++c)
    require(o[c] >= o[c - 1], "offsets must be non-decreasing (offsets[" + std::to_string(c) + "])");
  require(o[off.shape(0) - 1] == n, "offsets[-1] must equal the number of nodes " + std::to_string(n) +
                                        ", got " + std::to_string(o[off.shape(0) - 1]));
  return off;
}

void register_propagate(py::module_& m);
void register_simulate(py::module_& m);
void register_fit(py::module_& m);
void register_stats(py::module_& m);

}  // namespace p4core::bind
