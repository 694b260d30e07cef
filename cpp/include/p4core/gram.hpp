// p4core kernel: weighted Gram tiles between column blocks of propagated responses.
//
// Owns: the tile kernels gram_tile (one tile over the rows two blocks share) and gram_chunk (one
// chunk of rows added into a tile), common_rows, keep_for_tiles (how a block's responses are stored
// for its tiles) and gram_tiles (every requested tile of a screen, chunk-major where blocks share
// their rows).
//
// Determinism: a tile entry sums its rows in ascending order, in float within fixed chunks of kChunk
// row indices and in double across chunks, whichever kernel computes it: the same bits for any
// thread count, for a column screened alone or with others, and as its squared norm in
// screen_terms.hpp (the tile's diagonal).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "p4core/parallel.hpp"
#include "p4core/simd.hpp"

namespace p4core {

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
template <class T, int NB>
P4CORE_INLINE void gram_tile_impl(const T* xp, const T* xq, const std::int32_t* rows,
                                  const std::int64_t* pa, const std::int64_t* pb, std::int64_t n, double* out) {
  double tot[kBlock][kBlock] = {};
  std::int64_t f = 0;
  while (f < n) {  // one chunk of kChunk row indices at a time: float sums inside, double across
    const std::int32_t chunk = rows[f] / kChunk;
    std::int64_t end = f;
    while (end < n && rows[end] / kChunk == chunk) ++end;
    Row<T, NB> acc[kBlock];
    for (std::int64_t i = 0; i < kBlock; ++i) acc[i] = row_zero<T, NB>();
    for (; f < end; ++f) {
      const T* ya = xp + (pa ? pa[f] : f) * kBlock;
      const Row<T, NB> yb = row_load<T, NB>(xq + (pb ? pb[f] : f) * kBlock);
      for (std::int64_t i = 0; i < kBlock; ++i) row_axpy(acc[i], ya[i], yb);
    }
    for (std::int64_t i = 0; i < kBlock; ++i)
      for (std::int64_t j = 0; j < kBlock; ++j) tot[i][j] += double(acc[i].lane(static_cast<int>(j)));
  }
  for (std::int64_t i = 0; i < kBlock; ++i)
    for (std::int64_t j = 0; j < kBlock; ++j) out[i * kBlock + j] = tot[i][j];
}

P4CORE_WIDTHS(void gram_tile(const float* xp, const float* xq, const std::int32_t* rows, const std::int64_t* pa,
                             const std::int64_t* pb, std::int64_t n, double* out),
              gram_tile_impl<float, NB>(xp, xq, rows, pa, pb, n, out);)
P4CORE_WIDTHS(void gram_tile(const double* xp, const double* xq, const std::int32_t* rows, const std::int64_t* pa,
                             const std::int64_t* pb, std::int64_t n, double* out),
              gram_tile_impl<double, NB>(xp, xq, rows, pa, pb, n, out);)

// One chunk of rows [f0, f1) (positions in both blocks' common row list) added into a Gram tile:
// the same float partial sum and the same double addition as gram_tile, so the same bits.
template <class T, int NB>
P4CORE_INLINE void gram_chunk_impl(const T* xp, const T* xq, std::int64_t f0, std::int64_t f1, double* out) {
  Row<T, NB> acc[kBlock];
  for (std::int64_t i = 0; i < kBlock; ++i) acc[i] = row_zero<T, NB>();
  for (std::int64_t f = f0; f < f1; ++f) {
    const T* ya = xp + f * kBlock;
    const Row<T, NB> yb = row_load<T, NB>(xq + f * kBlock);
    for (std::int64_t i = 0; i < kBlock; ++i) row_axpy(acc[i], ya[i], yb);
  }
  for (std::int64_t i = 0; i < kBlock; ++i)
    for (std::int64_t j = 0; j < kBlock; ++j) out[i * kBlock + j] += double(acc[i].lane(static_cast<int>(j)));
}
P4CORE_WIDTHS(void gram_chunk(const float* xp, const float* xq, std::int64_t f0, std::int64_t f1, double* out),
              gram_chunk_impl<float, NB>(xp, xq, f0, f1, out);)
P4CORE_WIDTHS(void gram_chunk(const double* xp, const double* xq, std::int64_t f0, std::int64_t f1, double* out),
              gram_chunk_impl<double, NB>(xp, xq, f0, f1, out);)

// Keeps one block's responses for its tiles. On entry `x` holds them compactly on the ascending
// rows `sorted` (sorted.size() x kBlock). A block that reaches most rows is stored over all N rows
// (zeros elsewhere; zeros add nothing, so the same bits), so that all such blocks share one row list
// and their tiles run chunk-major; otherwise `rows` is its own row list.
template <class T>
void keep_for_tiles(lanes_vector<T>& x, const std::vector<std::int32_t>& sorted, std::int64_t N,
                    std::vector<std::int32_t>& rows) {
  if (static_cast<std::int64_t>(sorted.size()) * 2 > N) {
    lanes_vector<T> dense(static_cast<std::size_t>(N * kBlock), T(0));
    for (std::size_t f = 0; f < sorted.size(); ++f)
      std::memcpy(dense.data() + static_cast<std::int64_t>(sorted[f]) * kBlock, x.data() + f * kBlock,
                  sizeof(T) * kBlock);
    x.swap(dense);
    rows.resize(static_cast<std::size_t>(N));
    for (std::int64_t i = 0; i < N; ++i) rows[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
  } else {
    rows = sorted;
  }
}

// The tiles (n_tiles x kBlock x kBlock) of the block pairs tile_pairs (n_tiles x 2): tile k is the
// Gram tile between blocks tile_pairs[2k] and tile_pairs[2k + 1], whose responses xc and row lists
// `rows` come from keep_for_tiles (blocks with in_tile 0 are not read).
template <class T>
void gram_tiles(const std::vector<lanes_vector<T>>& xc, const std::vector<std::vector<std::int32_t>>& rows,
                const std::vector<char>& in_tile, const std::int64_t* tile_pairs, std::int64_t n_tiles,
                double* tiles, int n_threads) {
  const std::int64_t nb = static_cast<std::int64_t>(xc.size());
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
