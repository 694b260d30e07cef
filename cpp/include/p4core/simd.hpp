// p4core kernel: the column-block lane type and the compiler switches the blocked kernels share.
//
// Owns: the cache-line-aligned buffer type lanes_vector<T>; the block width kBlock (columns per block, one AVX-512 register of float32) and the
// reduction chunk kChunk; the lane vector vec<T> (Lanes<T>) with its load/store; the macros
// P4CORE_CLONES (runtime dispatch over target clones), P4CORE_INLINE and P4CORE_PREFETCH.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

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

constexpr std::int64_t kBlock = 16;   // columns per block
constexpr std::int64_t kChunk = 256;  // rows per float partial sum in reductions

// Column blocks of kBlock that hold n columns (the last one possibly partial).
constexpr std::int64_t n_blocks(std::int64_t n) { return (n + kBlock - 1) / kBlock; }

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
// True when any lane is non-zero (-0 counts as zero).
template <class T>
P4CORE_INLINE bool nonzero(const vec<T>& v) {
  const auto ne = v != vec<T>{};
  for (std::int64_t b = 0; b < kBlock; ++b)
    if (ne[b]) return true;
  return false;
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
