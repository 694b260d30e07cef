// p4core kernel: blocked, reach-aware propagation x = sum_{k=0..K} (alpha A)^k u.
//
// Owns: Stepper (the operator as the steps read it: alpha folded into the weights, source and weight in
// one padded stream, its out-edges), block_steps (the K Horner steps of one block), BlockScratch (a thread's buffers),
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
#include <memory>
#include <mutex>
#include <vector>

#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"
#include "p4core/reach.hpp"
#include "p4core/simd.hpp"

namespace p4core {

constexpr std::int32_t kAhead = 16;  // entries ahead whose source row is prefetched

// The operator as block steps read it: every entry's source and weight side by side in one stream,
// the weight with alpha folded in (alpha * a_ij rounded to T: the very factor the step multiplied by,
// so the same bits), padded with kAhead entries of source 0 so the prefetch of an entry ahead needs
// no bound check; and its out-edges for the reach. Built once per call, shared by every block.
template <class T>
struct Stepper {
  struct Entry {
    std::int32_t src;
    T w;
  };
  const std::int32_t* indptr = nullptr;
  std::int64_t n_rows = 0;
  std::vector<Entry> e;
  Stepper(const CsrView<T>& a, T alpha) : indptr(a.indptr), n_rows(a.n_rows), a_(a) {
    const std::int64_t nnz = a.nnz();
    e.resize(static_cast<std::size_t>(nnz + kAhead), Entry{0, T(0)});
    for (std::int64_t k = 0; k < nnz; ++k) e[static_cast<std::size_t>(k)] = Entry{a.indices[k], alpha * a.data[k]};
  }
  // The out-edges, built by the first block that needs them (a block whose seeds are most rows never does).
  const OutEdges& out() const {
    std::call_once(out_once_, [this] { out_ = out_edges(a_); });
    return out_;
  }

 private:
  CsrView<T> a_;
  mutable std::once_flag out_once_;
  mutable OutEdges out_;
};

// K Horner steps for one block: z_0 = u, z_k = alpha A z_{k-1} + u, so z_K = sum_k (alpha A)^k u
// with one buffer written per step (no running sum to read and write back). `p` holds u on entry
// (rows outside `r` zero), `q` is zero outside `r`, `out` holds u on entry and z_K on exit.
// All three are N x kBlock. Each row adds its entries in stored order, then its seed value; the
// out-of-order core overlaps consecutive rows (their sums are independent).
template <class T>
P4CORE_INLINE void block_steps_impl(const Stepper<T>& a, const Reach& r, int K, T* p, T* q, T* out) {
  using Entry = typename Stepper<T>::Entry;
  const std::int64_t n_reach = static_cast<std::int64_t>(r.sorted.size());
  const std::int32_t* indptr = a.indptr;
  const Entry* ent = a.e.data();
  std::vector<std::int32_t> live;
  std::vector<char> is_seed(static_cast<std::size_t>(n_reach));
  live.reserve(static_cast<std::size_t>(n_reach));
  for (int k = 1; k <= K; ++k) {
    if (k == 1 || r.count_le[static_cast<std::size_t>(k)] != r.count_le[static_cast<std::size_t>(k - 1)]) {
      live.clear();
      for (std::int64_t f = 0; f < n_reach; ++f)
        if (r.lev[static_cast<std::size_t>(f)] <= k) {
          is_seed[live.size()] = r.lev[static_cast<std::size_t>(f)] == 0;
          live.push_back(r.sorted[static_cast<std::size_t>(f)]);
        }
    }
    const std::size_t n_live = live.size();
    for (std::size_t g = 0; g < n_live; ++g) {
      const std::int64_t i = live[g];
      vec<T> acc{};
      for (std::int32_t e = indptr[i], e1 = indptr[i + 1]; e < e1; ++e) {
        P4CORE_PREFETCH(p + static_cast<std::int64_t>(ent[e + kAhead].src) * kBlock);
        acc += ent[e].w * load(p + static_cast<std::int64_t>(ent[e].src) * kBlock);
      }
      store(q + i * kBlock, is_seed[g] ? acc + load(out + i * kBlock) : acc);
    }
    std::swap(p, q);
  }
  for (std::int32_t i : r.sorted)
    std::memcpy(out + static_cast<std::int64_t>(i) * kBlock, p + static_cast<std::int64_t>(i) * kBlock, sizeof(T) * kBlock);
}

P4CORE_CLONES inline void block_steps(const Stepper<float>& a, const Reach& r, int K, float* p, float* q,
                                      float* out) {
  block_steps_impl(a, r, K, p, q, out);
}
P4CORE_CLONES inline void block_steps(const Stepper<double>& a, const Reach& r, int K, double* p, double* q,
                                      double* out) {
  block_steps_impl(a, r, K, p, q, out);
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
    if (4 * dirty.size() > level.size()) {  // most rows (a block that reached the network): one pass each
      std::memset(p.data(), 0, sizeof(T) * p.size());
      std::memset(q.data(), 0, sizeof(T) * q.size());
    } else {
      for (std::int32_t i : dirty) {
        std::fill_n(p.data() + static_cast<std::int64_t>(i) * kBlock, kBlock, T(0));
        std::fill_n(q.data() + static_cast<std::int64_t>(i) * kBlock, kBlock, T(0));
      }
    }
    dirty.clear();
  }
};

// This thread's scratch for an N-row operator, kept from one call to the next (threads of the OpenMP
// pool live on): no fresh, zero-filled buffers (page faults) per call. Every block leaves it as it
// found it (p and q zero but the rows in `dirty`, which the next block clears; `out` zero; `level`
// INT_MAX), so a kept scratch is as good as a new one; another N replaces it.
template <class T>
BlockScratch<T>& thread_scratch(std::int64_t n) {
  thread_local std::unique_ptr<BlockScratch<T>> kept;
  if (!kept || static_cast<std::int64_t>(kept->level.size()) != n) {
    kept.reset();
    kept = std::make_unique<BlockScratch<T>>(n);
  }
  return *kept;
}

// Propagate one block whose seeds (the rows where any of its columns is non-zero, in any order)
// are already written into `out` (N x kBlock; zero elsewhere).
template <class T>
void propagate_block(const Stepper<T>& a, int K, T* out, const std::vector<std::int32_t>& seeds,
                     BlockScratch<T>& s, Reach& r) {
  reach_of([&a]() -> const OutEdges& { return a.out(); }, seeds, K, s.level, r);
  s.clean();
  for (std::int64_t f = 0; f < r.count_le[0]; ++f) {
    const std::int64_t i = r.order[static_cast<std::size_t>(f)];
    std::memcpy(s.p.data() + i * kBlock, out + i * kBlock, sizeof(T) * kBlock);
  }
  block_steps(a, r, K, s.p.data(), s.q.data(), out);
  s.dirty = r.order;
}

// The parallel loop over column blocks [0, nb): body(blk, s) for every block, blocks handed out one
// at a time to the threads (dynamic), each thread with its own scratch s for an N-row operator.
template <class T, class Body>
void for_each_block(std::int64_t N, std::int64_t nb, int n_threads, const Body& body) {
#pragma omp parallel num_threads(n_threads) if (nb > 1)
  {
    BlockScratch<T>& s = thread_scratch<T>(N);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t blk = 0; blk < nb; ++blk) body(blk, s);
  }
}

// x = sum_k (alpha A)^k u for a dense row-major block u (N x B), column blocks in parallel.
template <class T>
void propagate_blocked(const CsrView<T>& a, const T* u, T* x, std::int64_t B, T alpha, int K, int n_threads) {
  const std::int64_t N = a.n_rows, nb = n_blocks(B);
  const Stepper<T> st(a, alpha);
  for_each_block<T>(N, nb, n_threads, [&](std::int64_t blk, BlockScratch<T>& s) {
    std::vector<T>& out = s.out;
    std::vector<std::int32_t>& seeds = s.seeds;
    const std::int64_t c0 = blk * kBlock, w = std::min(B, c0 + kBlock) - c0;
    seeds.clear();
    // u and x are strided by B columns: rows are fetched well ahead (a strided walk through memory
    // the hardware prefetchers do not follow far enough), and a full block is copied as one vector
    constexpr std::int64_t ahead = 16;
    for (std::int64_t i = 0; i < N; ++i) {
      if (i + ahead < N) P4CORE_PREFETCH(u + (i + ahead) * B + c0);
      const T* ui = u + i * B + c0;
      T* oi = out.data() + i * kBlock;
      if (w == kBlock)
        store(oi, load(ui));
      else
        std::memcpy(oi, ui, sizeof(T) * static_cast<std::size_t>(w));
      if (nonzero<T>(load(oi))) seeds.push_back(static_cast<std::int32_t>(i));
    }
    propagate_block(st, K, out.data(), seeds, s, s.reach);
    for (std::int64_t i = 0; i < N; ++i) {
      if (i + ahead < N) __builtin_prefetch(x + (i + ahead) * B + c0, 1, 3);
      T* oi = out.data() + i * kBlock;
      if (w == kBlock)
        store(x + i * B + c0, load(oi));
      else
        std::memcpy(x + i * B + c0, oi, sizeof(T) * static_cast<std::size_t>(w));
      store(oi, vec<T>{});
    }
  });
}

}  // namespace p4core
