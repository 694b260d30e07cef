// p4core kernel: which rows a block of seeds can reach within K steps of the operator.
//
// Owns: OutEdges and out_edges() (fills the transposed structure of a CSR operator a[target, source]),
// Reach and reach_of() (the rows within K hops of a set of seed rows, by hop level and ascending),
// reach_all() (every row a seed).
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "p4core/csr.hpp"

namespace p4core {

// Out-edges of every node (the transposed structure of the CSR operator a[target, source]).
struct OutEdges {
  std::vector<std::int64_t> ptr;
  std::vector<std::int32_t> idx;
};

// Fills t (its buffers reused) with the out-edges of a.
template <class T>
void out_edges(const CsrView<T>& a, OutEdges& t) {
  const std::int64_t n = a.n_rows;
  t.ptr.assign(static_cast<std::size_t>(a.n_cols + 1), 0);
  for (std::int64_t k = 0; k < a.nnz(); ++k) ++t.ptr[static_cast<std::size_t>(a.indices[k]) + 1];
  for (std::int64_t j = 0; j < a.n_cols; ++j) t.ptr[j + 1] += t.ptr[j];
  t.idx.resize(static_cast<std::size_t>(a.nnz()));
  std::vector<std::int64_t> fill(t.ptr.begin(), t.ptr.end() - 1);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int32_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k)
      t.idx[static_cast<std::size_t>(fill[a.indices[k]]++)] = static_cast<std::int32_t>(i);
}

// Rows within K hops of the seeds: `order` lists them by hop level, `count_le[k]` is the
// number of rows within k hops, `sorted` lists the same rows in ascending order and `lev` their
// levels. Steps visit rows in ascending order (neighbouring rows share their sources in cache).
struct Reach {
  std::vector<std::int32_t> order, sorted, lev;
  std::vector<std::int64_t> count_le;
};

// `level` is scratch of size N filled with INT_MAX; it is restored before returning.
// Breadth-first over out-edges; the ascending list comes from one scan of the level array when the
// reach is large (cheaper than sorting it), from a sort when it is small. Once half the rows are
// reached, the search stops and every remaining row joins at the next level: a row joined early
// sums sources that are still exact zeros, so its values are the same bits, and the search no
// longer costs passes over the operator's entries when a block reaches most of the network. (Joining
// at an eighth was 4-9% faster for unit seeds on the Kang operator, where every block reaches all rows,
// but 1.6-1.7x slower for the screen and regulators of the 100,000-cell case, whose blocks often stop
// short of half: a row joined early is computed in every later step.)
// `edges()` returns the OutEdges (called only when the search needs them). A level whose frontier is
// large is found bottom-up instead (Beamer, Asanovic & Patterson, SC 2012): every unreached row scans
// its own entries (`indptr`/`indices`: the operator's in-edges) and stops at the first source already
// reached; the levels are the same, only cheaper to find once most edges lead back into the reach.
template <class Edges>
void reach_of(const Edges& edges, const std::int32_t* indptr, const std::int32_t* indices,
              const std::vector<std::int32_t>& seeds, int K, std::vector<int>& level, Reach& r) {
  const std::size_t n_all = level.size();
  r.order.resize(n_all);  // filled up to m, trimmed at the end (the capacity stays for the next block)
  std::int32_t* order = r.order.data();
  std::size_t m = 0;
  r.count_le.assign(static_cast<std::size_t>(K + 1), 0);
  for (std::int32_t s : seeds)
    if (level[s] == INT_MAX) {
      level[s] = 0;
      order[m++] = s;
    }
  std::size_t begin = 0;
  r.count_le[0] = static_cast<std::int64_t>(m);
  for (int k = 1; k <= K; ++k) {
    const std::size_t end = m;
    if (2 * end >= n_all) {  // half the rows already: every other row joins at this level
      for (std::size_t i = 0; i < n_all; ++i)
        if (level[i] == INT_MAX) {
          level[i] = k;
          order[m++] = static_cast<std::int32_t>(i);
        }
      for (int k2 = k; k2 <= K; ++k2) r.count_le[static_cast<std::size_t>(k2)] = static_cast<std::int64_t>(n_all);
      break;
    }
    const std::size_t n_front = end - begin, n_left = n_all - end;
    if (n_front * 8 > n_left) {  // bottom-up: rows reached at levels < k never change level
      for (std::size_t i = 0; i < n_all; ++i) {
        if (level[i] != INT_MAX) continue;
        for (std::int32_t e = indptr[i]; e < indptr[i + 1]; ++e)
          if (level[static_cast<std::size_t>(indices[e])] < k) {
            level[i] = k;
            order[m++] = static_cast<std::int32_t>(i);
            break;
          }
      }
    } else {
      const OutEdges& t = edges();
      for (std::size_t f = begin; f < end; ++f) {
        const std::int32_t s = order[f];
        for (std::int64_t e = t.ptr[s]; e < t.ptr[s + 1]; ++e) {
          const std::int32_t i = t.idx[static_cast<std::size_t>(e)];
          if (level[i] == INT_MAX) {
            level[i] = k;
            order[m++] = i;
          }
        }
      }
    }
    r.count_le[k] = static_cast<std::int64_t>(m);
    begin = end;
  }
  r.order.resize(m);
  const std::size_t n = n_all;
  if (m == n) {  // every row: ascending is 0..n-1, and the levels are the level array itself
    r.sorted.resize(n);
    r.lev.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      r.sorted[i] = static_cast<std::int32_t>(i);
      r.lev[i] = level[i];
    }
    std::fill(level.begin(), level.end(), INT_MAX);
    return;
  }
  r.sorted.clear();
  r.lev.clear();
  if (m * 16 > n) {
    for (std::size_t i = 0; i < n; ++i)
      if (level[i] != INT_MAX) {
        r.sorted.push_back(static_cast<std::int32_t>(i));
        r.lev.push_back(level[i]);
      }
  } else {
    r.sorted = r.order;
    std::sort(r.sorted.begin(), r.sorted.end());
    for (std::int32_t i : r.sorted) r.lev.push_back(level[i]);
  }
  for (std::int32_t i : r.order) level[i] = INT_MAX;
}

// The reach when every row is a seed: every row at level 0 (what reach_of finds, without the search).
inline void reach_all(std::int64_t n, int K, Reach& r) {
  const std::size_t un = static_cast<std::size_t>(n);
  r.order.resize(un);
  r.sorted.resize(un);
  r.lev.assign(un, 0);
  for (std::size_t i = 0; i < un; ++i) r.order[i] = r.sorted[i] = static_cast<std::int32_t>(i);
  r.count_le.assign(static_cast<std::size_t>(K + 1), n);
}

}  // namespace p4core
