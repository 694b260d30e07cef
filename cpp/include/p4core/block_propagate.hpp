// p4core kernel: blocked, reach-aware propagation x = sum_{k=0..K} (alpha A)^k u.
//
// Owns: block_steps (the K Horner steps of one block), BlockScratch (a thread's buffers),
// propagate_block (one block from its seeds), for_each_block (the parallel loop over column blocks
// with one scratch per thread) and propagate_blocked (a dense N x B input, block by block).
//
// Columns are processed in blocks of kBlock (one AVX-512 register of float32); every block runs all
// K steps on its own, in a thread of its own, with its working set (two N x kBlock buffers) in
// cache. A block only touches the rows its seeds can reach (reach.hpp): rows are visited in order of
// their hop distance from the seeds, so step k computes only the rows within k hops and a target
// without out-edges costs nothing beyond its seeds. A row of a step sums its CSR entries in stored
// order (unreached sources contribute exact zeros), so every value depends only on the operator and
// the column itself: the same bits for any thread count, any block a column shares, and as the row
// kernel in propagate.hpp.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"
#include "p4core/reach.hpp"
#include "p4core/simd.hpp"

namespace p4core {

constexpr std::int32_t kAhead = 32;  // entries ahead whose source row is prefetched

// acc plus the entries of row i from position `from` on, in stored order.
template <class T>
P4CORE_INLINE vec<T> row_sum(const CsrView<T>& a, std::int32_t i, T alpha, const T* p, std::int32_t from,
                             vec<T> acc) {
  const std::int32_t last = std::max<std::int32_t>(a.indptr[a.n_rows] - 1, 0);
  for (std::int32_t e = from; e < a.indptr[i + 1]; ++e) {
    P4CORE_PREFETCH(p + static_cast<std::int64_t>(a.indices[std::min(e + kAhead, last)]) * kBlock);
    acc += (alpha * a.data[e]) * load(p + static_cast<std::int64_t>(a.indices[e]) * kBlock);
  }
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

// The parallel loop over column blocks [0, nb): body(blk, s) for every block, blocks handed out one
// at a time to the threads (dynamic), each thread with its own scratch s for an N-row operator.
template <class T, class Body>
void for_each_block(std::int64_t N, std::int64_t nb, int n_threads, const Body& body) {
#pragma omp parallel num_threads(n_threads) if (nb > 1)
  {
    BlockScratch<T> s(N);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t blk = 0; blk < nb; ++blk) body(blk, s);
  }
}

// x = sum_k (alpha A)^k u for a dense row-major block u (N x B), column blocks in parallel.
template <class T>
void propagate_blocked(const CsrView<T>& a, const T* u, T* x, std::int64_t B, T alpha, int K, int n_threads) {
  const std::int64_t N = a.n_rows, nb = n_blocks(B);
  const OutEdges t = out_edges(a);
  for_each_block<T>(N, nb, n_threads, [&](std::int64_t blk, BlockScratch<T>& s) {
    std::vector<T>& out = s.out;
    std::vector<std::int32_t>& seeds = s.seeds;
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
    propagate_block(a, t, alpha, K, out.data(), seeds, s, s.reach);
    for (std::int64_t i = 0; i < N; ++i) {
      T* oi = out.data() + i * kBlock;
      std::memcpy(x + i * B + c0, oi, sizeof(T) * static_cast<std::size_t>(w));
      std::fill_n(oi, kBlock, T(0));
    }
  });
}

}  // namespace p4core
