// p4core kernel: the column-block lane type and the compiler switches the blocked kernels share.
//
// Owns: the cache-line-aligned buffer type lanes_vector<T>; the block width kBlock (columns per block, one
// AVX-512 register of float32) and the reduction chunk kChunk; the row type Row<T, NB> (kBlock lanes as
// native vectors of NB bytes) with its operations; the macros P4CORE_WIDTHS (one version of a function
// per native width, picked at run time), P4CORE_CLONES (runtime dispatch over target clones),
// and P4CORE_INLINE.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

// Runtime dispatch (GCC on x86-64 Linux), the loader picking the widest version this CPU runs, no
// -march=native needed:
//   P4CORE_CLONES             target clones of one body (AVX-512, AVX2, baseline);
//   P4CORE_WIDTHS(sig, body)  one version per native vector width (GCC function multi-versioning), `body`
//                             seeing the width as the constant NB (bytes).
// Elsewhere, or with -DP4CORE_NO_CLONES, one version of the width the compiler targets.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(P4CORE_NO_CLONES)
#define P4CORE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define P4CORE_WIDTHS(SIG, ...)                   \
  __attribute__((target("avx512f"))) inline SIG { \
    constexpr int NB = 64;                        \
    __VA_ARGS__                                   \
  }                                               \
  __attribute__((target("avx2"))) inline SIG {    \
    constexpr int NB = 32;                        \
    __VA_ARGS__                                   \
  }                                               \
  __attribute__((target("default"))) inline SIG { \
    constexpr int NB = 16;                        \
    __VA_ARGS__                                   \
  }
#else
#define P4CORE_CLONES
#if defined(__AVX512F__)
#define P4CORE_NATIVE_BYTES 64
#elif defined(__AVX2__) || defined(__AVX__)
#define P4CORE_NATIVE_BYTES 32
#else
#define P4CORE_NATIVE_BYTES 16
#endif
#define P4CORE_WIDTHS(SIG, ...)             \
  inline SIG {                              \
    constexpr int NB = P4CORE_NATIVE_BYTES; \
    __VA_ARGS__                             \
  }
#endif
#if defined(__GNUC__)
#define P4CORE_INLINE inline __attribute__((always_inline))
#else
#define P4CORE_INLINE inline
#endif

namespace p4core {

constexpr std::int64_t kBlock = 16;   // columns per block
constexpr std::int64_t kChunk = 256;  // rows per float partial sum in reductions

// Column blocks of kBlock that hold n columns (the last one possibly partial).
constexpr std::int64_t n_blocks(std::int64_t n) { return (n + kBlock - 1) / kBlock; }

// A row of kBlock lanes as P native vectors of NB bytes each (NB = 64 with AVX-512, 32 with AVX2, 16
// otherwise). One GCC vector of kBlock lanes is wider than an AVX2 register: GCC then keeps a sum carried
// across a loop in memory, and the block steps ran 11x slower on AVX2 than on AVX-512 (measured on this
// machine with an AVX2-only build; slower than scipy.sparse). As P native vectors the sums stay in
// registers with every width. Lane arithmetic is the same IEEE operation whatever the width (no FMA
// contraction: -ffp-contract=off), hence the same bits from every version.
template <class T, int NB>
struct Row {
  typedef T nat __attribute__((vector_size(NB)));
  static constexpr int L = NB / static_cast<int>(sizeof(T));  // lanes per native vector
  static constexpr int P = static_cast<int>(kBlock) / L;       // native vectors per row
  static_assert(P >= 1 && P * L == kBlock, "kBlock lanes must fill whole native vectors");
  nat v[P];
  T lane(int b) const { return v[b / L][b % L]; }
};
template <class T, int NB>
P4CORE_INLINE Row<T, NB> row_zero() {
  Row<T, NB> r;
#pragma GCC unroll 16
  for (int j = 0; j < Row<T, NB>::P; ++j) r.v[j] = typename Row<T, NB>::nat{};
  return r;
}
template <class T, int NB>
P4CORE_INLINE Row<T, NB> row_load(const T* p) {
  Row<T, NB> r;
#pragma GCC unroll 16
  for (int j = 0; j < Row<T, NB>::P; ++j) std::memcpy(&r.v[j], p + j * Row<T, NB>::L, NB);
  return r;
}
template <class T, int NB>
P4CORE_INLINE void row_store(T* p, const Row<T, NB>& r) {
#pragma GCC unroll 16
  for (int j = 0; j < Row<T, NB>::P; ++j) std::memcpy(p + j * Row<T, NB>::L, &r.v[j], NB);
}
// acc += w * x (lane by lane: the product rounded, then the sum)
template <class T, int NB>
P4CORE_INLINE void row_axpy(Row<T, NB>& acc, T w, const T* x) {
#pragma GCC unroll 16
  for (int j = 0; j < Row<T, NB>::P; ++j) {
    typename Row<T, NB>::nat xj;
    std::memcpy(&xj, x + j * Row<T, NB>::L, NB);
    acc.v[j] += w * xj;
  }
}
template <class T, int NB>
P4CORE_INLINE void row_axpy(Row<T, NB>& acc, T w, const Row<T, NB>& x) {
#pragma GCC unroll 16
  for (int j = 0; j < Row<T, NB>::P; ++j) acc.v[j] += w * x.v[j];
}
template <class T, int NB>
P4CORE_INLINE Row<T, NB> row_add(Row<T, NB> a, const Row<T, NB>& b) {
#pragma GCC unroll 16
  for (int j = 0; j < Row<T, NB>::P; ++j) a.v[j] += b.v[j];
  return a;
}
// True when any lane is non-zero (-0 counts as zero, NaN as non-zero): the lanes compared as whole
// vectors, the masks or-ed together and tested 8 bytes at a time.
template <class T, int NB>
P4CORE_INLINE bool row_nonzero(const Row<T, NB>& r) {
  using mask = decltype(r.v[0] != r.v[0]);  // the compiler's own lane-mask vector type
  mask any = r.v[0] != typename Row<T, NB>::nat{};
#pragma GCC unroll 16
  for (int j = 1; j < Row<T, NB>::P; ++j) any |= r.v[j] != typename Row<T, NB>::nat{};
  std::uint64_t words[NB / 8];
  std::memcpy(words, &any, NB);
  std::uint64_t o = 0;
#pragma GCC unroll 16
  for (int k = 0; k < NB / 8; ++k) o |= words[k];
  return o != 0;
}

// Buffers whose rows are read as whole vectors: aligned to a cache line, so that a row of kBlock
// float32 is one line. (malloc aligns large blocks to 16 bytes: every row load then straddles two
// lines, which measured 1.4x slower on the block steps.)
constexpr std::size_t kLineBytes = 64;
template <class T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <class U>
  LineAllocator(const LineAllocator<U>&) noexcept {}
  // A plain malloc of the size plus two lines, aligned inside it (the block's own address stored just
  // before the aligned one): the same request for the same size every time, so a freed block is
  // reused as is (glibc's memalign carves blocks that the next aligned request of that size could
  // not reuse, and a screen's peak memory grew by a fifth).
  T* allocate(std::size_t n) {
    void* raw = std::malloc(n * sizeof(T) + 2 * kLineBytes);
    if (!raw) throw std::bad_alloc();
    const std::uintptr_t at = (reinterpret_cast<std::uintptr_t>(raw) + sizeof(void*) + kLineBytes - 1) &
                              ~static_cast<std::uintptr_t>(kLineBytes - 1);
    reinterpret_cast<void**>(at)[-1] = raw;
    return reinterpret_cast<T*>(at);
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (p) std::free(reinterpret_cast<void**>(p)[-1]);
  }
  template <class U>
  bool operator==(const LineAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const LineAllocator<U>&) const noexcept {
    return false;
  }
};
template <class T>
using lanes_vector = std::vector<T, LineAllocator<T>>;

}  // namespace p4core
