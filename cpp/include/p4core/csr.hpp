// p4core kernel: compressed sparse row view and its validation.
// Plain C++17, no Python: the binding layer wraps these views around numpy buffers.
#pragma once

#include <cstdint>
#include <string>

namespace p4core {

// A read-only view of a CSR matrix whose buffers belong to someone else (numpy).
template <class T>
struct CsrView {
  std::int64_t n_rows = 0;
  std::int64_t n_cols = 0;
  const std::int32_t* indptr = nullptr;   // n_rows + 1
  const std::int32_t* indices = nullptr;  // nnz
  const T* data = nullptr;                // nnz
  std::int64_t nnz() const { return n_rows > 0 ? indptr[n_rows] : 0; }
};

// Returns an empty string when the structure is valid, else a message that names the
// offending argument ("indptr" or "indices") and the position.
template <class T>
std::string validate_csr(const CsrView<T>& a, std::int64_t data_len, std::int64_t indices_len) {
  if (a.indptr[0] != 0) return "indptr[0] must be 0, got " + std::to_string(a.indptr[0]);
  for (std::int64_t i = 0; i < a.n_rows; ++i) {
    if (a.indptr[i + 1] < a.indptr[i]) {
      return "indptr must be non-decreasing; indptr[" + std::to_string(i + 1) + "] = " +
             std::to_string(a.indptr[i + 1]) + " < indptr[" + std::to_string(i) + "] = " +
             std::to_string(a.indptr[i]);
    }
  }
  const std::int64_t nnz = a.indptr[a.n_rows];
  if (nnz != indices_len)
    return "indptr[-1] = " + std::to_string(nnz) + " but indices has " + std::to_string(indices_len) +
           " entries";
  if (nnz != data_len)
    return "indptr[-1] = " + std::to_string(nnz) + " but data has " + std::to_string(data_len) +
           " entries";
  for (std::int64_t k = 0; k < nnz; ++k) {
    if (a.indices[k] < 0 || a.indices[k] >= a.n_cols) {
      return "indices[" + std::to_string(k) + "] = " + std::to_string(a.indices[k]) +
             " is out of range for " + std::to_string(a.n_cols) + " columns";
    }
  }
  return {};
}

}  // namespace p4core
