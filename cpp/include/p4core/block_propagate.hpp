// p4core kernel: blocked, reach-aware propagation x = sum_{k=0..K} (alpha A)^k u.
//
// Owns: Stepper (the operator as the steps read it: alpha folded into the weights, source and weight in
// one stream, its out-edges; its buffers kept by the thread between calls), row_sum and block_steps (the
// K Horner steps of one block, by one thread or by a team sharing its rows), BlockScratch (a thread's
// buffers), needs_clean, Wave and run_blocks (a wave of blocks: every reach, then each block by one thread
// or by the whole team), kept_reaches / kept_buffer (buffers kept between calls),
// wave_in / wave_out and propagate_blocked (a dense N x B input in waves of blocks).
//
// Columns are processed in blocks of kBlock (one AVX-512 register of float32); every block runs all
// K steps on its own, with its working set (two N x kBlock buffers, rows aligned to cache lines) in
// cache: a block that reaches few rows in a thread of its own, one that reaches many by every thread
// together (each its share of the rows, a barrier per step). A block only touches the rows its seeds
// can reach (reach.hpp): rows are visited in order of their hop distance from the seeds, so step k
// computes only the rows within k hops and a target without out-edges costs nothing beyond its seeds. A
// row of a step sums its CSR entries in stored order (unreached sources contribute exact zeros), so
// every value depends only on the operator and the column itself: the same bits for any thread count,
// any block a column shares, whichever thread computes a row, and as the row kernel in propagate.hpp.
//
// Measured on the Kang 2018 twin's operator (benchmarks/bench_propagate.py; 48k nodes, 451k edges): a
// row of a buffer malloc'ed at 16 bytes straddles two cache lines, and aligning the buffers made the
// steps 1.4x faster; software prefetch of the gathered rows (also non-temporal prefetch of the streams),
// two or four rows interleaved, two or four partial sums per row, 32 columns per block, 2 MiB pages and
// splitting a step into passes over column panels (sources in L2) each gained nothing or lost, so the
// loop stays plain. Its rows dealt round robin to a team in chunks of 64 were slower than contiguous
// shares; a team's shares cut into chunks that an idle thread takes from the other (work stealing), a flat
// branch-free entry stream (one to eight interleaved), node orders with the hubs left out of RCM and fewer
// blocks per wave were no faster or slower. Reading a dense block's u once in order before step 1 (it has
// left the caches since wave_in wrote it) made Kang's 64 dense columns 8% faster on 1 thread.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"
#include "p4core/reach.hpp"
#include "p4core/simd.hpp"

namespace p4core {

// The operator as block steps read it: every entry's source and weight side by side in one stream,
// the weight with alpha folded in (alpha * a_ij rounded to T: the very factor the step multiplied by,
// so the same bits); and its out-edges for the reach. Built once per call, shared by every block.
// Its buffers are this thread's, kept from one call to the next (taken on construction, given back on
// destruction): a call does not fault in and zero megabytes of fresh pages for them.
template <class T>
struct Stepper {
  struct Entry {
    std::int32_t src;
    T w;
  };
  const std::int32_t* indptr = nullptr;
  std::int64_t n_rows = 0;
  std::vector<Entry> e;
  Stepper(const CsrView<T>& a, T alpha, int n_threads = 1) : indptr(a.indptr), n_rows(a.n_rows), a_(a) {
    take_kept();
    const std::int64_t nnz = a.nnz();
    e.resize(static_cast<std::size_t>(nnz));
    Entry* ep = e.data();
#pragma omp parallel for schedule(static) num_threads(n_threads) if (nnz > 65536)
    for (std::int64_t k = 0; k < nnz; ++k) ep[k] = Entry{a.indices[k], alpha * a.data[k]};
  }
  ~Stepper() { take_kept(); }
  Stepper(const Stepper&) = delete;
  Stepper& operator=(const Stepper&) = delete;
  const std::int32_t* indices() const { return a_.indices; }
  // The out-edges, found by the first block that needs them (a block whose seeds are most rows never
  // does): the thread's kept ones when they were built for this very structure (indptr and indices
  // compared in full: a twin's operators share theirs), else built afresh.
  const OutEdges& out() const {
    std::call_once(out_once_, [this] {
      const std::size_t np = static_cast<std::size_t>(a_.n_rows + 1), nz = static_cast<std::size_t>(a_.nnz());
      const bool same = out_.ptr.size() == static_cast<std::size_t>(a_.n_cols + 1) && for_ptr_.size() == np &&
                        for_idx_.size() == nz && std::equal(for_ptr_.begin(), for_ptr_.end(), a_.indptr) &&
                        std::equal(for_idx_.begin(), for_idx_.end(), a_.indices);
      if (same) return;
      out_edges(a_, out_);
      for_ptr_.assign(a_.indptr, a_.indptr + np);
      for_idx_.assign(a_.indices, a_.indices + nz);
    });
    return out_;
  }

 private:
  struct Kept {
    std::vector<Entry> e;
    OutEdges out;
    std::vector<std::int32_t> for_ptr, for_idx;  // the structure `out` was built for
  };
  void take_kept() {  // swaps this Stepper's buffers with the thread's kept ones
    Kept& k = kept();
    e.swap(k.e);
    out_.ptr.swap(k.out.ptr);
    out_.idx.swap(k.out.idx);
    for_ptr_.swap(k.for_ptr);
    for_idx_.swap(k.for_idx);
  }
  static Kept& kept() {
    thread_local Kept k;
    return k;
  }
  CsrView<T> a_;
  mutable std::once_flag out_once_;
  mutable OutEdges out_;
  mutable std::vector<std::int32_t> for_ptr_, for_idx_;
};

// A buffer of at least n values for this thread, one per Use, kept from one call to the next (grown,
// never shrunk; zero when new, then whatever its users leave: propagate_blocked's wave buffer any
// values, screen_terms' block buffers zero again).
struct WaveUse {};
struct SlotUse {};
template <class T, class Use>
T* kept_buffer(std::size_t n) {
  thread_local lanes_vector<T> buf;
  if (buf.size() < n) {
    lanes_vector<T>().swap(buf);
    buf.resize(n, T(0));
  }
  return buf.data();
}

// Keeps a value the compiler would otherwise find unused (a read done only for its effect on the caches).
template <class T, int NB>
P4CORE_INLINE void touch_sink(const Row<T, NB>& r) {
  asm volatile("" : : "r"(&r) : "memory");
}

// Row i of A z for one block: its entries in stored order, each alpha a_ij times source row j.
template <class T, int NB>
P4CORE_INLINE Row<T, NB> row_sum(const std::int32_t* indptr, const typename Stepper<T>::Entry* ent, const T* src,
                                 std::int64_t i) {
  Row<T, NB> acc = row_zero<T, NB>();
  for (std::int32_t e = indptr[i], e1 = indptr[i + 1]; e < e1; ++e)
    row_axpy(acc, ent[e].w, src + static_cast<std::int64_t>(ent[e].src) * kBlock);
  return acc;
}

// The part of a block's reach that one of n_parts threads steps: [f0, f1) of r.sorted, contiguous and
// balanced by the operator entries its rows sum (the whole reach when n_parts == 1).
template <class T>
std::pair<std::size_t, std::size_t> reach_part(const Stepper<T>& a, const Reach& r, int part, int n_parts) {
  const std::size_t n_reach = r.sorted.size();
  if (n_parts <= 1) return {0, n_reach};
  const std::int32_t* indptr = a.indptr;
  const bool every = static_cast<std::int64_t>(n_reach) == a.n_rows;  // r.sorted is 0..N-1: cut on indptr
  std::int64_t total = every ? static_cast<std::int64_t>(indptr[a.n_rows]) : 0;
  if (!every)
    for (std::int32_t i : r.sorted) total += indptr[i + 1] - indptr[i];
  auto cut = [&](int t) -> std::size_t {
    if (t <= 0) return 0;
    if (t >= n_parts) return n_reach;
    const std::int64_t goal = total * t / n_parts;
    if (every) return static_cast<std::size_t>(std::lower_bound(indptr, indptr + a.n_rows, goal) - indptr);
    std::int64_t acc = 0;
    std::size_t f = 0;
    while (f < n_reach && acc < goal) {
      acc += indptr[r.sorted[f] + 1] - indptr[r.sorted[f]];
      ++f;
    }
    return f;
  };
  return {cut(part), cut(part + 1)};
}

// K Horner steps for one block: z_0 = u, z_k = alpha A z_{k-1} + u, so z_K = sum_k (alpha A)^k u
// with one buffer written per step (no running sum to read and write back). `out` holds u on entry
// (zero outside the seeds) and z_K on exit; step 1 reads it as z_0 and the last step (K >= 2) writes
// it in place (a seed row reads its u before it writes the same row; no other row reads `out` then).
// Steps in between alternate q (odd k) and p (even k): both are zero outside `r` where a step reads
// them before it writes them. All three are N x kBlock. Each row adds its entries in stored order,
// then its seed value; the out-of-order core overlaps consecutive rows (their sums are independent).
// A team of n_parts threads may step one block together (every thread calls with its own `part`
// from inside one parallel region): each computes its part of the rows (reach_part), with a barrier
// after every step; a row is computed the same way whichever thread computes it (same bits).
template <class T, int NB>
P4CORE_INLINE void block_steps_impl(const Stepper<T>& a, const Reach& r, int K, T* p, T* q, T* out, int part,
                                    int n_parts) {
  using Entry = typename Stepper<T>::Entry;
  const auto [f0, f1] = reach_part(a, r, part, n_parts);
  const std::int32_t* indptr = a.indptr;
  const Entry* ent = a.e.data();
  std::vector<std::int32_t> live;
  std::vector<char> is_seed;
  std::size_t n_live = 0;
  const T* src = out;
  for (int k = 1; k <= K; ++k) {
    const bool all = r.count_le[static_cast<std::size_t>(k)] == a.n_rows;  // every row: no list needed
    if (!all && (k == 1 || r.count_le[static_cast<std::size_t>(k)] != r.count_le[static_cast<std::size_t>(k - 1)])) {
      live.resize(f1 - f0);
      is_seed.resize(f1 - f0);
      n_live = 0;
      for (std::size_t f = f0; f < f1; ++f)
        if (r.lev[f] <= k) {
          is_seed[n_live] = r.lev[f] == 0;
          live[n_live++] = r.sorted[f];
        }
    }
    T* dst = k == K && K >= 2 ? out : (k % 2 ? q : p);
    if (all && k == 1) {
      // a dense block's u, gathered at random by step 1, was written long before (wave_in) and has left the
      // caches: one sequential read of its rows first turns the random misses into a stream the hardware
      // prefetchers follow
      Row<T, NB> any = row_zero<T, NB>();
      for (std::int64_t i = static_cast<std::int64_t>(f0); i < static_cast<std::int64_t>(f1); ++i)
        any = row_add(any, row_load<T, NB>(out + i * kBlock));
      touch_sink(any);
    }
    if (all) {
      // every row (r.sorted is 0..N-1): no list, and every row adds its u (zero off the seeds; a sum is
      // never -0, and s + 0 = s + (-0) = s otherwise, so the same bits as adding it to the seeds only)
      for (std::int64_t i = static_cast<std::int64_t>(f0); i < static_cast<std::int64_t>(f1); ++i)
        row_store(dst + i * kBlock, row_add(row_sum<T, NB>(indptr, ent, src, i), row_load<T, NB>(out + i * kBlock)));
    } else {
      for (std::size_t g = 0; g < n_live; ++g) {
        const std::int64_t i = live[g];
        const Row<T, NB> acc = row_sum<T, NB>(indptr, ent, src, i);
        row_store(dst + i * kBlock, is_seed[g] ? row_add(acc, row_load<T, NB>(out + i * kBlock)) : acc);
      }
    }
    if (n_parts > 1) team_barrier();  // the next step reads every row this one wrote
    src = dst;
  }
  if (K == 1)
    for (std::size_t f = f0; f < f1; ++f)
      std::memcpy(out + static_cast<std::int64_t>(r.sorted[f]) * kBlock, q + static_cast<std::int64_t>(r.sorted[f]) * kBlock,
                  sizeof(T) * kBlock);
  if (K == 1 && n_parts > 1) team_barrier();
}

P4CORE_WIDTHS(void block_steps(const Stepper<float>& a, const Reach& r, int K, float* p, float* q, float* out,
                               int part, int n_parts),
              block_steps_impl<float, NB>(a, r, K, p, q, out, part, n_parts);)
P4CORE_WIDTHS(void block_steps(const Stepper<double>& a, const Reach& r, int K, double* p, double* q, double* out,
                               int part, int n_parts),
              block_steps_impl<double, NB>(a, r, K, p, q, out, part, n_parts);)

// Per-thread scratch for block propagation: the step buffers p and q, the reach search's level array
// and a block's seeds.
template <class T>
struct BlockScratch {
  lanes_vector<T> p, q;
  std::vector<int> level;           // reach_of's scratch: INT_MAX between blocks
  std::vector<std::int32_t> dirty;  // rows of p/q written by the previous block
  std::vector<std::int32_t> seeds;
  explicit BlockScratch(std::int64_t n)
      : p(static_cast<std::size_t>(n * kBlock), T(0)),
        q(static_cast<std::size_t>(n * kBlock), T(0)),
        level(static_cast<std::size_t>(n), INT_MAX) {}
  // Zeroes the rows of p and q in `dirty`, by one of a team of nt threads (its share of them; tid 0 of
  // 1 for all): most rows (a block that reached the network) in one pass each. `dirty` stays as it is
  // (every thread of a team reads it): whoever sets it next overwrites it.
  void clean_part(int tid, int nt) {
    const std::int64_t n = static_cast<std::int64_t>(level.size());
    if (4 * dirty.size() > level.size()) {
      const std::int64_t i0 = n * tid / nt, i1 = n * (tid + 1) / nt;
      std::memset(p.data() + i0 * kBlock, 0, sizeof(T) * static_cast<std::size_t>((i1 - i0) * kBlock));
      std::memset(q.data() + i0 * kBlock, 0, sizeof(T) * static_cast<std::size_t>((i1 - i0) * kBlock));
    } else {
      const std::size_t d = dirty.size(), f0 = d * tid / nt, f1 = d * (tid + 1) / nt;
      for (std::size_t f = f0; f < f1; ++f) {
        std::fill_n(p.data() + static_cast<std::int64_t>(dirty[f]) * kBlock, kBlock, T(0));
        std::fill_n(q.data() + static_cast<std::int64_t>(dirty[f]) * kBlock, kBlock, T(0));
      }
    }
  }
};

// This thread's scratch for an N-row operator, kept from one call to the next (threads of the OpenMP
// pool live on): no fresh, zero-filled buffers (page faults) per call. Every block leaves it as it
// found it (p and q zero but the rows in `dirty`, which the next block clears; `level`
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

// Whether p and q must be cleared where the previous block left rows before a block with reach r
// steps: not when every row is within one hop of the seeds (step 1 writes every row of q and step 2
// every row of p before either is read).
inline bool needs_clean(int K, const Reach& r, std::int64_t n) { return !(K >= 2 && r.count_le[1] == n); }

// n reaches kept by the calling thread from one call to the next (their buffers grown, never shrunk).
inline std::vector<Reach>& kept_reaches(std::int64_t n) {
  thread_local std::vector<Reach> kept;
  if (static_cast<std::int64_t>(kept.size()) < n) kept.resize(static_cast<std::size_t>(n));
  return kept;
}

// What the threads of one parallel region share while they run a wave of blocks (run_blocks).
template <class T>
struct Wave {
  std::vector<Reach>& reach;  // per block of the wave
  std::vector<char> team;     // per block: stepped by the whole team
  BlockScratch<T>* s = nullptr;
  explicit Wave(std::int64_t w) : reach(kept_reaches(w)), team(static_cast<std::size_t>(w), 0) {}
};

// Blocks stepped one per thread keep one working set per thread in cache at once (three N x kBlock
// buffers' rows and the entries of the rows a block reaches); when those of all threads together would
// pass this many bytes, a block is stepped by the whole team instead (one working set). Measured on
// skewed operators of 8,000-96,000 nodes (8.3 entries per row, 64 columns, 2 threads; a 32 MiB L3
// shared with other tenants): a block per thread was faster up to 16,000 nodes (3.1 MiB per block),
// the team from 24,000 nodes on (dense: 4.6 against 5.3 ms) and 1.35x faster at 48,000.
constexpr double kTeamBytes = 8.0 * (1 << 20);
// ... and only when every thread's share of the reach has at least this many rows: with many threads
// the bytes rule alone would hand small blocks to the team, whose per-step barriers would then cost
// more than the shares' work (a guard; measured only on 2 cores, where the bytes rule decides).
constexpr std::int64_t kTeamRowsPerThread = 4096;

// Blocks [0, w), called by every thread of a parallel region:
//   1. every block's seeds and reach, blocks in parallel: seeds_of(b, seeds) lists the rows where
//      block b's u is non-zero (any order) and leaves u in out_of(b) (zero elsewhere), or returns true
//      (the list left as it is) when u is non-zero in every row (a dense input; no search then);
//   2. the blocks whose working sets, one per thread, fit in kTeamBytes (or whose reach would give a
//      thread fewer than kTeamRowsPerThread rows), in parallel, each by one thread in that thread's
//      scratch, then finish(b, out, r);
//   3. the others one after another, each by the whole team (its rows split between the threads, a
//      barrier per step; block_steps) in the scratch of the region's first thread;
//   4. finish(b, out, r) of the blocks of 3, in parallel.
// out_of(b) is block b's own N x kBlock buffer: u in, the response out (read by finish). Two threads
// stepping one block share one working set in cache: the steps of the Kang 2018 operator's 64-column
// blocks ran 1.0-1.6x (typically 1.4x) faster on 2 threads than with a block per thread, and varied
// less with the neighbours' load.
template <class T, class SeedsOf, class OutOf, class Finish>
void run_blocks(const Stepper<T>& st, int K, std::int64_t w, Wave<T>& wave, const SeedsOf& seeds_of,
                const OutOf& out_of, const Finish& finish) {
  const std::int64_t N = st.n_rows;
  const int tid = omp_thread_num(), nt = omp_threads();
  BlockScratch<T>& own = thread_scratch<T>(N);
  if (tid == 0) wave.s = &own;  // every thread sees it after the first loop's barrier
  const double row_bytes = static_cast<double>(3 * kBlock * static_cast<std::int64_t>(sizeof(T))) +
                           static_cast<double>(sizeof(typename Stepper<T>::Entry)) * static_cast<double>(st.e.size()) /
                               static_cast<double>(std::max<std::int64_t>(N, 1));
#pragma omp for schedule(dynamic, 1)
  for (std::int64_t b = 0; b < w; ++b) {
    Reach& r = wave.reach[static_cast<std::size_t>(b)];
    if (seeds_of(b, own.seeds))
      reach_all(N, K, r);
    else
      reach_of([&st]() -> const OutEdges& { return st.out(); }, st.indptr, st.indices(), own.seeds, K, own.level, r);
    const std::int64_t n_reach = static_cast<std::int64_t>(r.sorted.size());
    wave.team[static_cast<std::size_t>(b)] = nt > 1 && n_reach >= nt * kTeamRowsPerThread &&
                                             static_cast<double>(nt) * static_cast<double>(n_reach) * row_bytes >= kTeamBytes;
  }
#pragma omp for schedule(dynamic, 1)
  for (std::int64_t b = 0; b < w; ++b) {
    if (wave.team[static_cast<std::size_t>(b)]) continue;
    const Reach& r = wave.reach[static_cast<std::size_t>(b)];
    T* out = out_of(b);
    if (needs_clean(K, r, N)) own.clean_part(0, 1);
    block_steps(st, r, K, own.p.data(), own.q.data(), out, 0, 1);
    own.dirty = r.order;
    finish(b, out, r);
  }
  BlockScratch<T>& s = *wave.s;
  bool any = false;
  for (std::int64_t b = 0; b < w; ++b) {
    if (!wave.team[static_cast<std::size_t>(b)]) continue;
    any = true;
    const Reach& r = wave.reach[static_cast<std::size_t>(b)];
    if (needs_clean(K, r, N)) s.clean_part(tid, nt);
    team_barrier();  // p and q clean before any thread steps
    block_steps(st, r, K, s.p.data(), s.q.data(), out_of(b), tid, nt);
#pragma omp single
    s.dirty = r.order;
  }
  if (!any) return;
#pragma omp for schedule(dynamic, 1)
  for (std::int64_t b = 0; b < w; ++b)
    if (wave.team[static_cast<std::size_t>(b)]) finish(b, out_of(b), wave.reach[static_cast<std::size_t>(b)]);
}

// Prefetch the cache lines of n values from p (for writing if `write`).
constexpr std::int64_t kRowsAhead = 8;
template <class T>
P4CORE_INLINE void prefetch_run(const T* p, std::int64_t n, bool write) {
  const char* c = reinterpret_cast<const char*>(p);
  const char* end = c + n * static_cast<std::int64_t>(sizeof(T));
  for (const char* l = c; l < end; l += 64)
    if (write)
      __builtin_prefetch(l, 1, 3);
    else
      __builtin_prefetch(l, 0, 3);
  if (write)
    __builtin_prefetch(end - 1, 1, 3);
  else
    __builtin_prefetch(end - 1, 0, 3);
}

// Rows [i0, i1) of the wave's columns [c0, c0 + W * kBlock) of u (row-major, B columns) into the
// wave's block buffers (block b: N x kBlock, lanes past column B zero), and the rows where block b
// has a non-zero lane appended to seeds[b] (ascending). One contiguous read of W * kBlock values per row.
template <class T, int NB>
P4CORE_INLINE void wave_in_impl(const T* u, std::int64_t B, std::int64_t c0, std::int64_t W, std::int64_t N,
                                std::int64_t i0, std::int64_t i1, T* buf, std::vector<std::int32_t>* seeds) {
  const std::int64_t span = std::min(W * kBlock, B - c0);  // values of a row in this wave
  for (std::int64_t i = i0; i < i1; ++i) {
    const T* ui = u + i * B + c0;
    // rows ahead, every cache line of the row's run: the hardware prefetchers do not cross the page
    // boundaries a stride of B values crosses every row or two
    if (i + kRowsAhead < i1) prefetch_run(ui + kRowsAhead * B, span, false);
    for (std::int64_t b = 0; b < W; ++b) {
      const std::int64_t w = std::min<std::int64_t>(kBlock, B - c0 - b * kBlock);
      Row<T, NB> v = row_zero<T, NB>();
      if (w == kBlock)
        v = row_load<T, NB>(ui + b * kBlock);
      else
        std::memcpy(&v, ui + b * kBlock, sizeof(T) * static_cast<std::size_t>(w));
      row_store(buf + (b * N + i) * kBlock, v);
      if (row_nonzero(v)) seeds[b].push_back(static_cast<std::int32_t>(i));
    }
  }
}
// Rows [i0, i1) of the wave's block buffers back into x's columns [c0, c0 + W * kBlock).
template <class T, int NB>
P4CORE_INLINE void wave_out_impl(const T* buf, std::int64_t B, std::int64_t c0, std::int64_t W, std::int64_t N,
                                 std::int64_t i0, std::int64_t i1, T* x) {
  const std::int64_t span = std::min(W * kBlock, B - c0);
  for (std::int64_t i = i0; i < i1; ++i) {
    T* xi = x + i * B + c0;
    if (i + kRowsAhead < i1) prefetch_run(xi + kRowsAhead * B, span, true);
    for (std::int64_t b = 0; b < W; ++b) {
      const std::int64_t w = std::min<std::int64_t>(kBlock, B - c0 - b * kBlock);
      const T* bi = buf + (b * N + i) * kBlock;
      if (w == kBlock)
        row_store(xi + b * kBlock, row_load<T, NB>(bi));
      else
        std::memcpy(xi + b * kBlock, bi, sizeof(T) * static_cast<std::size_t>(w));
    }
  }
}
#define P4CORE_WAVE(T)                                                                                           \
  P4CORE_WIDTHS(void wave_in(const T* u, std::int64_t B, std::int64_t c0, std::int64_t W, std::int64_t N,      \
                             std::int64_t i0, std::int64_t i1, T* buf, std::vector<std::int32_t>* seeds),       \
                wave_in_impl<T, NB>(u, B, c0, W, N, i0, i1, buf, seeds);)                                       \
  P4CORE_WIDTHS(void wave_out(const T* buf, std::int64_t B, std::int64_t c0, std::int64_t W, std::int64_t N,   \
                              std::int64_t i0, std::int64_t i1, T* x),                                          \
                wave_out_impl<T, NB>(buf, B, c0, W, N, i0, i1, x);)
P4CORE_WAVE(float)
P4CORE_WAVE(double)
#undef P4CORE_WAVE

// Blocks per wave of propagate_blocked: four per thread, as many as 64 MiB of block buffers hold
// (never fewer than one per thread), never more than there are.
inline std::int64_t wave_blocks(std::int64_t N, std::int64_t nb, int n_threads, std::size_t item) {
  const std::int64_t per_block = std::max<std::int64_t>(1, N * kBlock * static_cast<std::int64_t>(item));
  const std::int64_t fit = std::max<std::int64_t>(1, (std::int64_t{64} << 20) / per_block);
  return std::max<std::int64_t>(1, std::min(nb, std::max<std::int64_t>(n_threads, std::min<std::int64_t>(4 * n_threads, fit))));
}

// x = sum_k (alpha A)^k u for a dense row-major block u (N x B). Columns go in waves of W blocks:
// the wave's columns are read from u row by row into W contiguous block buffers (one pass, finding each
// block's seeds), every block propagates in its own buffer (blocks in parallel), and the buffers are
// written back into x row by row. u and x are each read or written once, in runs of W * kBlock values,
// never kBlock values at a stride of B.
template <class T>
void propagate_blocked(const CsrView<T>& a, const T* u, T* x, std::int64_t B, T alpha, int K, int n_threads) {
  const std::int64_t N = a.n_rows, nb = n_blocks(B);
  const std::int64_t W = wave_blocks(N, nb, n_threads, sizeof(T));
  const std::int64_t chunk = 2048, n_chunks = (N + chunk - 1) / chunk;
  const Stepper<T> st(a, alpha, n_threads);
  T* buf = kept_buffer<T, WaveUse>(static_cast<std::size_t>(W * N * kBlock));
  // seeds found per row chunk and block (each ascending), joined per block in chunk order
  std::vector<std::vector<std::int32_t>> found(static_cast<std::size_t>(n_chunks * W));
  Wave<T> wave(W);
  for (std::int64_t b0 = 0; b0 < nb; b0 += W) {
    const std::int64_t w = std::min(W, nb - b0), c0 = b0 * kBlock;
#pragma omp parallel num_threads(n_threads)
    {
#pragma omp for schedule(static)
      for (std::int64_t ch = 0; ch < n_chunks; ++ch) {
        std::vector<std::int32_t>* seeds = found.data() + ch * W;
        for (std::int64_t b = 0; b < w; ++b) seeds[b].clear();
        wave_in(u, B, c0, w, N, ch * chunk, std::min(N, (ch + 1) * chunk), buf, seeds);
      }
      run_blocks(
          st, K, w, wave,
          [&](std::int64_t b, std::vector<std::int32_t>& seeds) {
            bool every = true;  // every row of every chunk
            for (std::int64_t ch = 0; ch < n_chunks && every; ++ch)
              every = static_cast<std::int64_t>(found[static_cast<std::size_t>(ch * W + b)].size()) ==
                      std::min(N, (ch + 1) * chunk) - ch * chunk;
            if (every) return true;
            seeds.clear();
            for (std::int64_t ch = 0; ch < n_chunks; ++ch) {
              const std::vector<std::int32_t>& f = found[static_cast<std::size_t>(ch * W + b)];
              seeds.insert(seeds.end(), f.begin(), f.end());
            }
            return false;
          },
          [&](std::int64_t b) { return buf + b * N * kBlock; }, [](std::int64_t, T*, const Reach&) {});
#pragma omp for schedule(static)
      for (std::int64_t ch = 0; ch < n_chunks; ++ch)
        wave_out(buf, B, c0, w, N, ch * chunk, std::min(N, (ch + 1) * chunk), x);
    }
  }
}

}  // namespace p4core
