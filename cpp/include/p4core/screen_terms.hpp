// p4core kernel: everything a screen needs from one twin's propagated responses.
//
// Owns: block_products (signature products, squared norms and weighted sums of one block) and
// screen_terms (the driver: sparse seeds in, block by block through block_propagate.hpp, and out
// num, sq, wsum and the probe rows, plus the Gram tiles of gram.hpp).
//
// Determinism: every value is computed in an order that depends only on the operator and on the
// column itself, never on the thread count, the block a column shares, or the engine that called:
// reductions over rows (signature products, norms, Gram entries) run over rows in ascending order,
// in float within fixed chunks of kChunk row indices, and in double across chunks. Hence the same
// numbers for 1 or n threads, and for a column screened alone or with others.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "p4core/block_propagate.hpp"
#include "p4core/csr.hpp"
#include "p4core/gram.hpp"
#include "p4core/reach.hpp"
#include "p4core/simd.hpp"

namespace p4core {

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
  const std::int64_t nb = n_blocks(n_cols);
  const Stepper<T> st(a, alpha, n_threads);
  std::vector<T> sw(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) sw[static_cast<std::size_t>(i)] = std::sqrt(w[i]);
  std::vector<lanes_vector<T>> xc(static_cast<std::size_t>(nb));
  std::vector<std::vector<std::int32_t>> rows(static_cast<std::size_t>(nb));
  std::vector<char> in_tile(static_cast<std::size_t>(nb), 0);  // keep a block's responses only if a tile needs them
  for (std::int64_t k = 0; k < 2 * n_tiles; ++k) in_tile[static_cast<std::size_t>(tile_pairs[k])] = 1;
  // blocks in waves of W, each block in its own N x kBlock buffer (kept by the thread from one call to
  // the next, zero between blocks: finish clears what the block wrote). Two blocks per thread: the
  // 100,000-cell case's peak memory grew by 60 MB with four, which were not faster on Kang 2018.
  const std::int64_t W = std::min<std::int64_t>(nb, 2 * std::max(1, n_threads));
  T* slots = kept_buffer<T, SlotUse>(static_cast<std::size_t>(W * N * kBlock));
  std::int64_t b0 = 0;  // the wave's first block
  auto out_of = [&](std::int64_t b) { return slots + b * N * kBlock; };
  auto seeds_of = [&](std::int64_t b, std::vector<std::int32_t>& seeds) {
    const std::int64_t c0 = (b0 + b) * kBlock, c1 = std::min(n_cols, c0 + kBlock);
    T* out = out_of(b);
    seeds.clear();
    for (std::int64_t c = c0; c < c1; ++c)
      for (std::int64_t e = seed_ptr[c]; e < seed_ptr[c + 1]; ++e) {
        out[static_cast<std::int64_t>(seed_row[e]) * kBlock + (c - c0)] += seed_val[e];
        seeds.push_back(seed_row[e]);
      }
    return false;
  };
  auto finish = [&](std::int64_t blk, T* out, const Reach& r) {
    const std::int64_t c0 = blk * kBlock, c1 = std::min(n_cols, c0 + kBlock);
    if (self_weight != T(1))
      for (std::int64_t c = c0; c < c1; ++c)
        for (std::int64_t e = seed_ptr[c]; e < seed_ptr[c + 1]; ++e)
          out[static_cast<std::int64_t>(seed_row[e]) * kBlock + (c - c0)] -= (T(1) - self_weight) * seed_val[e];
    for (std::int64_t k = 0; k < n_probe; ++k) {  // the responses at the probe rows (before clearing)
      const T* oi = out + static_cast<std::int64_t>(probe_rows[k]) * kBlock;
      for (std::int64_t c = c0; c < c1; ++c) probe[k * n_cols + c] = double(oi[c - c0]);
    }
    lanes_vector<T>& x = xc[static_cast<std::size_t>(blk)];
    x.resize(r.sorted.size() * kBlock);
    const bool most = 4 * static_cast<std::int64_t>(r.sorted.size()) > N;  // then one pass clears `out`
    for (std::size_t f = 0; f < r.sorted.size(); ++f) {
      T* oi = out + static_cast<std::int64_t>(r.sorted[f]) * kBlock;
      const T swi = sw[static_cast<std::size_t>(r.sorted[f])];
      T* xf = x.data() + f * kBlock;
      for (std::int64_t b = 0; b < kBlock; ++b) xf[b] = swi * oi[b];
      if (!most) std::fill_n(oi, kBlock, T(0));
    }
    if (most) std::memset(out, 0, sizeof(T) * static_cast<std::size_t>(N * kBlock));
    block_products(x.data(), r.sorted, sw.data(), sig, offsets, C, c0, n_cols, num, sq, wsum);
    if (!in_tile[static_cast<std::size_t>(blk)])
      lanes_vector<T>().swap(x);
    else
      keep_for_tiles(x, r.sorted, N, rows[static_cast<std::size_t>(blk)]);
  };
  Wave<T> wave(W);
  for (; b0 < nb; b0 += W) {
    const std::int64_t w = std::min(W, nb - b0);
#pragma omp parallel num_threads(n_threads) if (nb > 1)
    run_blocks(st, K, w, wave, seeds_of, out_of, [&](std::int64_t b, T* out, const Reach& r) { finish(b0 + b, out, r); });
  }
  gram_tiles(xc, rows, in_tile, tile_pairs, n_tiles, tiles, n_threads);
}

}  // namespace p4core
