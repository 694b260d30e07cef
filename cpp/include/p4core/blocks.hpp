// p4core kernel: blocked, reach-aware propagation and the inner products a screen needs.
//
// A screen propagates many sparse perturbations (one column per drug target). Columns are
// processed in blocks of kBlock (one AVX-512 register of float32); every block runs all K steps
// on its own, in a thread of its own, with its working set (two N x kBlock buffers) in cache.
// A block only touches the rows its seeds can reach: rows are visited in order of their hop
// distance from the seeds, so step k computes only the rows within k hops and a target without
// out-edges costs nothing beyond its seeds.
//
// Determinism: every value is computed in an order that depends only on the operator and on the
// column itself, never on the thread count, the block a column shares, or the engine that called:
//   * a row of a step sums its CSR entries in stored order (unreached sources contribute exact zeros);
//   * reductions over rows (signature products, norms, Gram entries) run over rows in ascending
//     order, in float within fixed chunks of kChunk row indices, and in double across chunks.
// Hence the same numbers for 1 or n threads, and for a column screened alone or with others.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <iterator>
#include <cstdint>
#include <cstring>
#include <vector>

#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(P4CORE_NO_CLONES)
// Runtime dispatch: the loader picks the widest clone this CPU supports (no -march=native needed).
#define P4CORE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define P4CORE_CLONES
#endif
#if defined(__GNUC__)
#define P4CORE_INLINE inline __attribute__((always_inline))
#else
#define P4CORE_INLINE inline
#endif

#if defined(__GNUC__)
#define P4CORE_PREFETCH(ptr) __builtin_prefetch(ptr, 0, 3)
#else
#define P4CORE_PREFETCH(ptr) ((void)0)
#endif

namespace p4core {

constexpr std::int64_t kBlock = 16;
constexpr std::int32_t kAhead = 16;  // entries ahead whose source row is prefetched   // columns per block
constexpr std::int64_t kChunk = 256;  // rows per float partial sum in reductions

// kBlock lanes as one GCC/Clang vector: each clone lowers it to its widest registers (one zmm of
// float32 with AVX-512, two ymm with AVX2, four xmm otherwise). Lane arithmetic is the same IEEE
// operation in every clone (no FMA contraction: -ffp-contract=off), hence the same bits.
template <class T>
struct Lanes;
template <>
struct Lanes<float> {
  typedef float type __attribute__((vector_size(kBlock * sizeof(float))));
};
template <>
struct Lanes<double> {
  typedef double type __attribute__((vector_size(kBlock * sizeof(double))));
};
template <class T>
using vec = typename Lanes<T>::type;

template <class T>
P4CORE_INLINE vec<T> load(const T* p) {
  vec<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <class T>
P4CORE_INLINE void store(T* p, const vec<T>& v) {
  std::memcpy(p, &v, sizeof(v));
}

// Out-edges of every node (the transposed structure of the CSR operator a[target, source]).
struct OutEdges {
  std::vector<std::int64_t> ptr;
  std::vector<std::int32_t> idx;
};

template <class T>
OutEdges out_edges(const CsrView<T>& a) {
  OutEdges t;
  const std::int64_t n = a.n_rows;
  t.ptr.assign(static_cast<std::size_t>(a.n_cols + 1), 0);
  for (std::int64_t k = 0; k < a.nnz(); ++k) ++t.ptr[static_cast<std::size_t>(a.indices[k]) + 1];
  for (std::int64_t j = 0; j < a.n_cols; ++j) t.ptr[j + 1] += t.ptr[j];
  t.idx.resize(static_cast<std::size_t>(a.nnz()));
  std::vector<std::int64_t> fill(t.ptr.begin(), t.ptr.end() - 1);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int32_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k)
      t.idx[static_cast<std::size_t>(fill[a.indices[k]]++)] = static_cast<std::int32_t>(i);
  return t;
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
// reach is large (cheaper than sorting it), from a sort when it is small.
inline void reach_of(const OutEdges& t, const std::vector<std::int32_t>& seeds, int K,
                     std::vector<int>& level, Reach& r) {
  r.order.clear();
  r.count_le.assign(static_cast<std::size_t>(K + 1), 0);
  for (std::int32_t s : seeds)
    if (level[s] == INT_MAX) {
      level[s] = 0;
      r.order.push_back(s);
    }
  std::size_t begin = 0;
  r.count_le[0] = static_cast<std::int64_t>(r.order.size());
  for (int k = 1; k <= K; ++k) {
    const std::size_t end = r.order.size();
    for (std::size_t f = begin; f < end; ++f) {
      const std::int32_t s = r.order[f];
      for (std::int64_t e = t.ptr[s]; e < t.ptr[s + 1]; ++e) {
        const std::int32_t i = t.idx[static_cast<std::size_t>(e)];
        if (level[i] == INT_MAX) {
          level[i] = k;
          r.order.push_back(i);
        }
      }
    }
    r.count_le[k] = static_cast<std::int64_t>(r.order.size());
    begin = end;
  }
  const std::size_t n = level.size(), m = r.order.size();
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

template <class T>
P4CORE_INLINE vec<T> row_sum(const CsrView<T>& a, std::int32_t i, T alpha, const T* p, std::int32_t from,
                             vec<T> acc) {
  for (std::int32_t e = from; e < a.indptr[i + 1]; ++e)
    acc += (alpha * a.data[e]) * load(p + static_cast<std::int64_t>(a.indices[e]) * kBlock);
  return acc;
}

// K Horner steps for one block: z_0 = u, z_k = alpha A z_{k-1} + u, so z_K = sum_k (alpha A)^k u
// with one buffer written per step (no running sum to read and write back). `p` holds u on entry
// (rows outside `r` zero), `q` is zero outside `r`, `out` holds u on entry and z_K on exit.
// All three are N x kBlock. Rows are summed four at a time, interleaved (four independent add
// chains); each row still adds its entries in stored order, then its seed value.
template <class T>
P4CORE_INLINE void block_steps_impl(const CsrView<T>& a, const Reach& r, T alpha, int K, T* p, T* q, T* out) {
  const std::int64_t n_reach = static_cast<std::int64_t>(r.sorted.size());
  const std::int32_t last = std::max<std::int32_t>(a.indptr[a.n_rows] - 1, 0);  // prefetch stays in bounds
  std::vector<std::int32_t> live;
  std::vector<char> is_seed(static_cast<std::size_t>(n_reach));
  live.reserve(static_cast<std::size_t>(n_reach));
  for (int k = 1; k <= K; ++k) {
    live.clear();
    for (std::int64_t f = 0; f < n_reach; ++f)
      if (r.lev[static_cast<std::size_t>(f)] <= k) {
        is_seed[live.size()] = r.lev[static_cast<std::size_t>(f)] == 0;
        live.push_back(r.sorted[static_cast<std::size_t>(f)]);
      }
    const std::size_t n_live = live.size();
    std::size_t f = 0;
    auto finish = [&](std::size_t g, const vec<T>& acc) {  // seeds add their u, still in `out`
      const std::int64_t i = live[g];
      store(q + i * kBlock, is_seed[g] ? acc + load(out + i * kBlock) : acc);
    };
    for (; f + 4 <= n_live; f += 4) {
      const std::int32_t i0 = live[f], i1 = live[f + 1], i2 = live[f + 2], i3 = live[f + 3];
      std::int32_t e0 = a.indptr[i0], e1 = a.indptr[i1], e2 = a.indptr[i2], e3 = a.indptr[i3];
      const std::int32_t n = std::min(std::min(a.indptr[i0 + 1] - e0, a.indptr[i1 + 1] - e1),
                                      std::min(a.indptr[i2 + 1] - e2, a.indptr[i3 + 1] - e3));
      vec<T> c0 = {}, c1 = {}, c2 = {}, c3 = {};
      for (std::int32_t k2 = 0; k2 < n; ++k2, ++e0, ++e1, ++e2, ++e3) {
        P4CORE_PREFETCH(p + static_cast<std::int64_t>(a.indices[std::min(e0 + kAhead, last)]) * kBlock);
        P4CORE_PREFETCH(p + static_cast<std::int64_t>(a.indices[std::min(e1 + kAhead, last)]) * kBlock);
        P4CORE_PREFETCH(p + static_cast<std::int64_t>(a.indices[std::min(e2 + kAhead, last)]) * kBlock);
        P4CORE_PREFETCH(p + static_cast<std::int64_t>(a.indices[std::min(e3 + kAhead, last)]) * kBlock);
        c0 += (alpha * a.data[e0]) * load(p + static_cast<std::int64_t>(a.indices[e0]) * kBlock);
        c1 += (alpha * a.data[e1]) * load(p + static_cast<std::int64_t>(a.indices[e1]) * kBlock);
        c2 += (alpha * a.data[e2]) * load(p + static_cast<std::int64_t>(a.indices[e2]) * kBlock);
        c3 += (alpha * a.data[e3]) * load(p + static_cast<std::int64_t>(a.indices[e3]) * kBlock);
      }
      finish(f, row_sum(a, i0, alpha, p, e0, c0));
      finish(f + 1, row_sum(a, i1, alpha, p, e1, c1));
      finish(f + 2, row_sum(a, i2, alpha, p, e2, c2));
      finish(f + 3, row_sum(a, i3, alpha, p, e3, c3));
    }
    for (; f < n_live; ++f) finish(f, row_sum(a, live[f], alpha, p, a.indptr[live[f]], vec<T>{}));
    std::swap(p, q);
  }
  for (std::int32_t i : r.sorted)
    std::memcpy(out + static_cast<std::int64_t>(i) * kBlock, p + static_cast<std::int64_t>(i) * kBlock, sizeof(T) * kBlock);
}

P4CORE_CLONES inline void block_steps(const CsrView<float>& a, const Reach& r, float alpha, int K, float* p,
                                      float* q, float* out) {
  block_steps_impl(a, r, alpha, K, p, q, out);
}
P4CORE_CLONES inline void block_steps(const CsrView<double>& a, const Reach& r, double alpha, int K, double* p,
                                      double* q, double* out) {
  block_steps_impl(a, r, alpha, K, p, q, out);
}

// Per-thread scratch for block propagation: the step buffers, the block's own N x kBlock
// in/out buffer, its seeds and its reach.
template <class T>
struct BlockScratch {
  std::vector<T> p, q, out;
  std::vector<int> level;
  std::vector<std::int32_t> dirty;  // rows of p/q written by the previous block
  std::vector<std::int32_t> seeds;
  Reach reach;
  explicit BlockScratch(std::int64_t n)
      : p(static_cast<std::size_t>(n * kBlock), T(0)),
        q(static_cast<std::size_t>(n * kBlock), T(0)),
        out(static_cast<std::size_t>(n * kBlock), T(0)),
        level(static_cast<std::size_t>(n), INT_MAX) {}
  void clean() {
    for (std::int32_t i : dirty) {
      std::fill_n(p.data() + static_cast<std::int64_t>(i) * kBlock, kBlock, T(0));
      std::fill_n(q.data() + static_cast<std::int64_t>(i) * kBlock, kBlock, T(0));
    }
    dirty.clear();
  }
};

// Propagate one block whose seeds (the rows where any of its columns is non-zero, in any order)
// are already written into `out` (N x kBlock; zero elsewhere).
template <class T>
void propagate_block(const CsrView<T>& a, const OutEdges& t, T alpha, int K, T* out,
                     const std::vector<std::int32_t>& seeds, BlockScratch<T>& s, Reach& r) {
  reach_of(t, seeds, K, s.level, r);
  s.clean();
  for (std::int64_t f = 0; f < r.count_le[0]; ++f) {
    const std::int64_t i = r.order[static_cast<std::size_t>(f)];
    std::memcpy(s.p.data() + i * kBlock, out + i * kBlock, sizeof(T) * kBlock);
  }
  block_steps(a, r, alpha, K, s.p.data(), s.q.data(), out);
  s.dirty = r.order;
}

// x = sum_k (alpha A)^k u for a dense row-major block u (N x B), column blocks in parallel.
template <class T>
void propagate_blocked(const CsrView<T>& a, const T* u, T* x, std::int64_t B, T alpha, int K, int n_threads) {
  const std::int64_t N = a.n_rows, nb = (B + kBlock - 1) / kBlock;
  const OutEdges t = out_edges(a);
#pragma omp parallel num_threads(n_threads) if (nb > 1)
  {
    BlockScratch<T> s(N);
    std::vector<T>& out = s.out;
    std::vector<std::int32_t>& seeds = s.seeds;
    Reach& r = s.reach;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t blk = 0; blk < nb; ++blk) {
      const std::int64_t c0 = blk * kBlock, w = std::min(B, c0 + kBlock) - c0;
      seeds.clear();
      for (std::int64_t i = 0; i < N; ++i) {
        const T* ui = u + i * B + c0;
        T* oi = out.data() + i * kBlock;
        bool any = false;
        for (std::int64_t b = 0; b < w; ++b) {
          oi[b] = ui[b];
          any = any || ui[b] != T(0);
        }
        if (any) seeds.push_back(static_cast<std::int32_t>(i));
      }
      propagate_block(a, t, alpha, K, out.data(), seeds, s, r);
      for (std::int64_t i = 0; i < N; ++i) {
        T* oi = out.data() + i * kBlock;
        std::memcpy(x + i * B + c0, oi, sizeof(T) * static_cast<std::size_t>(w));
        std::fill_n(oi, kBlock, T(0));
      }
    }
  }
}

// Signature products and squared norms of the columns of one compact block: `x` holds
// y = sqrt(w) x on the rows `rows` (ascending) of the block, kBlock values each.
//   num[c * n_cols + col] = sum_{rows of cell type c} (sqrt(w) s) y,   sq[col] = sum y^2,
//   wsum[c * n_cols + col] = sum_{rows of cell type c} sqrt(w) y  (= sum w x, for centring)
template <class T>
void block_products(const T* x, const std::vector<std::int32_t>& rows, const T* sw, const T* sig,
                    const std::int64_t* offsets, std::int64_t C, std::int64_t col0, std::int64_t n_cols,
                    double* num, double* sq, double* wsum) {
  double tot_sq[kBlock] = {};
  const std::size_t cb = static_cast<std::size_t>(std::max<std::int64_t>(C, 1) * kBlock);
  std::vector<double> tot_num(cb, 0.0), tot_ws(cb, 0.0);
  T part_sq[kBlock] = {}, part_num[kBlock] = {}, part_ws[kBlock] = {};
  std::int64_t c = 0, chunk = -1;
  // sq flushes at chunk boundaries (as the Gram tiles do: same bits as their diagonal); num also at
  // cell-type boundaries
  auto flush_sq = [&]() {
    for (std::int64_t b = 0; b < kBlock; ++b) {
      tot_sq[b] += double(part_sq[b]);
      part_sq[b] = T(0);
    }
  };
  auto flush_num = [&]() {
    for (std::int64_t b = 0; b < kBlock; ++b) {
      tot_num[static_cast<std::size_t>(c * kBlock + b)] += double(part_num[b]);
      tot_ws[static_cast<std::size_t>(c * kBlock + b)] += double(part_ws[b]);
      part_num[b] = T(0);
      part_ws[b] = T(0);
    }
  };
  for (std::size_t f = 0; f < rows.size(); ++f) {
    const std::int32_t i = rows[f];
    std::int64_t ci = c;
    while (ci < C - 1 && i >= offsets[ci + 1]) ++ci;
    if (i / kChunk != chunk || ci != c) {
      flush_num();
      c = ci;
    }
    if (i / kChunk != chunk) {
      flush_sq();
      chunk = i / kChunk;
    }
    const T* xi = x + static_cast<std::int64_t>(f) * kBlock;
    const T ssi = sw[i] * sig[i], swi = sw[i];
    for (std::int64_t b = 0; b < kBlock; ++b) {
      part_sq[b] += xi[b] * xi[b];
      part_num[b] += ssi * xi[b];
      part_ws[b] += swi * xi[b];
    }
  }
  flush_num();
  flush_sq();
  for (std::int64_t b = 0; b < kBlock && col0 + b < n_cols; ++b) {
    sq[col0 + b] = tot_sq[b];
    for (std::int64_t cc = 0; cc < C; ++cc) {
      num[cc * n_cols + col0 + b] = tot_num[static_cast<std::size_t>(cc * kBlock + b)];
      wsum[cc * n_cols + col0 + b] = tot_ws[static_cast<std::size_t>(cc * kBlock + b)];
    }
  }
}

// Rows common to two compact blocks: the row and its position in each.
struct Common {
  std::vector<std::int32_t> row;
  std::vector<std::int64_t> pa, pb;
};

inline void common_rows(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b, Common& out) {
  out.row.clear();
  out.pa.clear();
  out.pb.clear();
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      out.row.push_back(a[i]);
      out.pa.push_back(static_cast<std::int64_t>(i++));
      out.pb.push_back(static_cast<std::int64_t>(j++));
    }
  }
}

// Weighted Gram tile G[i][j] = sum_r y_P[r, i] y_Q[r, j] over the common rows, y = sqrt(w) x.
// The product is symmetric in the two columns, so G[i][j] of tile (P, Q) equals G[j][i] of (Q, P).
// `pa`/`pb` null: both blocks hold the same rows (positions f, f).
template <class T>
P4CORE_INLINE void gram_tile_impl(const T* xp, const T* xq, const std::int32_t* rows,
                                  const std::int64_t* pa, const std::int64_t* pb, std::int64_t n, double* out) {
  double tot[kBlock][kBlock] = {};
  std::int64_t f = 0;
  while (f < n) {  // one chunk of kChunk row indices at a time: float sums inside, double across
    const std::int32_t chunk = rows[f] / kChunk;
    std::int64_t end = f;
    while (end < n && rows[end] / kChunk == chunk) ++end;
    vec<T> acc[kBlock] = {};
    for (; f < end; ++f) {
      const T* ya = xp + (pa ? pa[f] : f) * kBlock;
      const vec<T> yb = load(xq + (pb ? pb[f] : f) * kBlock);
      for (std::int64_t i = 0; i < kBlock; ++i) acc[i] += ya[i] * yb;
    }
    for (std::int64_t i = 0; i < kBlock; ++i)
      for (std::int64_t j = 0; j < kBlock; ++j) tot[i][j] += double(acc[i][j]);
  }
  for (std::int64_t i = 0; i < kBlock; ++i)
    for (std::int64_t j = 0; j < kBlock; ++j) out[i * kBlock + j] = tot[i][j];
}

P4CORE_CLONES inline void gram_tile(const float* xp, const float* xq, const std::int32_t* rows,
                                    const std::int64_t* pa, const std::int64_t* pb, std::int64_t n, double* out) {
  gram_tile_impl(xp, xq, rows, pa, pb, n, out);
}
P4CORE_CLONES inline void gram_tile(const double* xp, const double* xq, const std::int32_t* rows,
                                    const std::int64_t* pa, const std::int64_t* pb, std::int64_t n, double* out) {
  gram_tile_impl(xp, xq, rows, pa, pb, n, out);
}

// One chunk of rows [f0, f1) (positions in both blocks' common row list) added into a Gram tile:
// the same float partial sum and the same double addition as gram_tile, so the same bits.
template <class T>
P4CORE_INLINE void gram_chunk_impl(const T* xp, const T* xq, std::int64_t f0, std::int64_t f1, double* out) {
  vec<T> acc[kBlock] = {};
  for (std::int64_t f = f0; f < f1; ++f) {
    const T* ya = xp + f * kBlock;
    const vec<T> yb = load(xq + f * kBlock);
    for (std::int64_t i = 0; i < kBlock; ++i) acc[i] += ya[i] * yb;
  }
  for (std::int64_t i = 0; i < kBlock; ++i)
    for (std::int64_t j = 0; j < kBlock; ++j) out[i * kBlock + j] += double(acc[i][j]);
}
P4CORE_CLONES inline void gram_chunk(const float* xp, const float* xq, std::int64_t f0, std::int64_t f1, double* out) {
  gram_chunk_impl(xp, xq, f0, f1, out);
}
P4CORE_CLONES inline void gram_chunk(const double* xp, const double* xq, std::int64_t f0, std::int64_t f1,
                                     double* out) {
  gram_chunk_impl(xp, xq, f0, f1, out);
}

// Everything a screen needs from one twin, for n columns given as sparse seeds:
// column j is u_j = sum_{e in seed_ptr[j]..seed_ptr[j+1]} seed_val[e] * e_{seed_row[e]}.
// The response keeps `self_weight` of the k = 0 term (the seeds themselves).
// Outputs: num, wsum (C x n), sq (n) (see block_products), for every requested block pair
// (P, Q) the kBlock x kBlock Gram tile between columns [P*kBlock, ...) and [Q*kBlock, ...)
// (columns past n are zero), and probe (n_probe x n): every response at the rows `probe_rows`
// (what a screen needs to leave a drug's own target nodes out of its programme).
template <class T>
void screen_terms(const CsrView<T>& a, const std::int64_t* seed_ptr, const std::int32_t* seed_row,
                  const T* seed_val, std::int64_t n_cols, const T* w, const T* sig, const std::int64_t* offsets,
                  std::int64_t C, T alpha, int K, T self_weight, const std::int64_t* tile_pairs,
                  std::int64_t n_tiles, double* num, double* sq, double* wsum, double* tiles,
                  const std::int32_t* probe_rows, std::int64_t n_probe, double* probe, int n_threads) {
  const std::int64_t N = a.n_rows;
  const std::int64_t nb = (n_cols + kBlock - 1) / kBlock;
  const OutEdges t = out_edges(a);
  std::vector<T> sw(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) sw[static_cast<std::size_t>(i)] = std::sqrt(w[i]);
  std::vector<std::vector<T>> xc(static_cast<std::size_t>(nb));
  std::vector<std::vector<std::int32_t>> rows(static_cast<std::size_t>(nb));
  std::vector<char> in_tile(static_cast<std::size_t>(nb), 0);  // keep a block's responses only if a tile needs them
  for (std::int64_t k = 0; k < 2 * n_tiles; ++k) in_tile[static_cast<std::size_t>(tile_pairs[k])] = 1;
#pragma omp parallel num_threads(n_threads) if (nb > 1)
  {
    BlockScratch<T> s(N);
    std::vector<T>& out = s.out;
    std::vector<std::int32_t>& seeds = s.seeds;
    Reach& r = s.reach;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t blk = 0; blk < nb; ++blk) {
      const std::int64_t c0 = blk * kBlock, c1 = std::min(n_cols, c0 + kBlock);
      seeds.clear();
      for (std::int64_t c = c0; c < c1; ++c)
        for (std::int64_t e = seed_ptr[c]; e < seed_ptr[c + 1]; ++e) {
          out[static_cast<std::size_t>(static_cast<std::int64_t>(seed_row[e]) * kBlock + (c - c0))] += seed_val[e];
          seeds.push_back(seed_row[e]);
        }
      propagate_block(a, t, alpha, K, out.data(), seeds, s, r);
      if (self_weight != T(1))
        for (std::int64_t c = c0; c < c1; ++c)
          for (std::int64_t e = seed_ptr[c]; e < seed_ptr[c + 1]; ++e)
            out[static_cast<std::size_t>(static_cast<std::int64_t>(seed_row[e]) * kBlock + (c - c0))] -=
                (T(1) - self_weight) * seed_val[e];
      for (std::int64_t k = 0; k < n_probe; ++k) {  // the responses at the probe rows (before clearing)
        const T* oi = out.data() + static_cast<std::int64_t>(probe_rows[k]) * kBlock;
        for (std::int64_t c = c0; c < c1; ++c) probe[k * n_cols + c] = double(oi[c - c0]);
      }
      std::vector<T>& x = xc[static_cast<std::size_t>(blk)];
      x.resize(r.sorted.size() * kBlock);
      for (std::size_t f = 0; f < r.sorted.size(); ++f) {
        T* oi = out.data() + static_cast<std::int64_t>(r.sorted[f]) * kBlock;
        store(x.data() + f * kBlock, sw[static_cast<std::size_t>(r.sorted[f])] * load(oi));
        std::fill_n(oi, kBlock, T(0));
      }
      block_products(x.data(), r.sorted, sw.data(), sig, offsets, C, c0, n_cols, num, sq, wsum);
      if (!in_tile[static_cast<std::size_t>(blk)]) {
        std::vector<T>().swap(x);
      } else if (static_cast<std::int64_t>(r.sorted.size()) * 2 > N) {
        // reaches most rows: stored over all N rows (zeros elsewhere; zeros add nothing, so the
        // same bits), so that all such blocks share one row list and their tiles run chunk-major
        std::vector<T> dense(static_cast<std::size_t>(N * kBlock), T(0));
        for (std::size_t f = 0; f < r.sorted.size(); ++f)
          std::memcpy(dense.data() + static_cast<std::int64_t>(r.sorted[f]) * kBlock, x.data() + f * kBlock,
                      sizeof(T) * kBlock);
        x.swap(dense);
        std::vector<std::int32_t>& all = rows[static_cast<std::size_t>(blk)];
        all.resize(static_cast<std::size_t>(N));
        for (std::int64_t i = 0; i < N; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
      } else {
        rows[static_cast<std::size_t>(blk)] = r.sorted;
      }
    }
  }
  // Tiles between blocks that reach the same rows (the usual case: a graph's giant component)
  // run chunk by chunk: a chunk of every block stays in cache while all their tiles use it, so
  // each response is read from memory once instead of once per tile.
  std::vector<std::int64_t> same_rows;  // tiles of the largest family of identical row lists
  std::vector<std::int64_t> family(static_cast<std::size_t>(nb), -1);
  for (std::int64_t b = 0; b < nb; ++b) {
    if (!in_tile[static_cast<std::size_t>(b)] || rows[static_cast<std::size_t>(b)].size() < 4 * kChunk) continue;
    for (std::int64_t c = 0; c < b && family[static_cast<std::size_t>(b)] < 0; ++c)
      if (family[static_cast<std::size_t>(c)] == c && rows[static_cast<std::size_t>(c)] == rows[static_cast<std::size_t>(b)])
        family[static_cast<std::size_t>(b)] = c;
    if (family[static_cast<std::size_t>(b)] < 0) family[static_cast<std::size_t>(b)] = b;
  }
  std::vector<std::int64_t> fam_size(static_cast<std::size_t>(nb), 0);
  for (std::int64_t b = 0; b < nb; ++b)
    if (family[static_cast<std::size_t>(b)] >= 0) ++fam_size[static_cast<std::size_t>(family[static_cast<std::size_t>(b)])];
  const std::int64_t big = nb ? std::max_element(fam_size.begin(), fam_size.end()) - fam_size.begin() : -1;
  std::vector<char> done(static_cast<std::size_t>(n_tiles), 0);
  if (big >= 0 && fam_size[static_cast<std::size_t>(big)] > 1) {
    for (std::int64_t k = 0; k < n_tiles; ++k)
      if (family[static_cast<std::size_t>(tile_pairs[2 * k])] == big && family[static_cast<std::size_t>(tile_pairs[2 * k + 1])] == big) {
        same_rows.push_back(k);
        done[static_cast<std::size_t>(k)] = 1;
        std::fill_n(tiles + k * kBlock * kBlock, kBlock * kBlock, 0.0);
      }
    const std::vector<std::int32_t>& R = rows[static_cast<std::size_t>(big)];
    std::vector<std::int64_t> starts;  // positions where a new chunk of row indices begins
    for (std::size_t f = 0; f < R.size(); ++f)
      if (f == 0 || R[f] / kChunk != R[f - 1] / kChunk) starts.push_back(static_cast<std::int64_t>(f));
    starts.push_back(static_cast<std::int64_t>(R.size()));
    const std::int64_t n_same = static_cast<std::int64_t>(same_rows.size());
#pragma omp parallel num_threads(n_threads) if (n_same > 1)
    {
      const int tid = omp_thread_num(), nth = omp_threads();
      for (std::size_t c = 0; c + 1 < starts.size(); ++c)
        for (std::int64_t m = tid; m < n_same; m += nth) {
          const std::int64_t k = same_rows[static_cast<std::size_t>(m)];
          gram_chunk(xc[static_cast<std::size_t>(tile_pairs[2 * k])].data(),
                     xc[static_cast<std::size_t>(tile_pairs[2 * k + 1])].data(), starts[c], starts[c + 1],
                     tiles + k * kBlock * kBlock);
        }
    }
  }
#pragma omp parallel num_threads(n_threads) if (n_tiles > 1)
  {
    Common cm;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t k = 0; k < n_tiles; ++k) {
      if (done[static_cast<std::size_t>(k)]) continue;
      const std::size_t P = static_cast<std::size_t>(tile_pairs[2 * k]), Q = static_cast<std::size_t>(tile_pairs[2 * k + 1]);
      double* out = tiles + k * kBlock * kBlock;
      if (rows[P] == rows[Q]) {
        gram_tile(xc[P].data(), xc[Q].data(), rows[P].data(), nullptr, nullptr,
                  static_cast<std::int64_t>(rows[P].size()), out);
      } else {
        common_rows(rows[P], rows[Q], cm);
        gram_tile(xc[P].data(), xc[Q].data(), cm.row.data(), cm.pa.data(), cm.pb.data(),
                  static_cast<std::int64_t>(cm.row.size()), out);
      }
    }
  }
}

}  // namespace p4core
