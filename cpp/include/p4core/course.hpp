// p4core kernel: the disease course of one twin under several scenarios, with error control.
//
//   dx/dt = gamma (tanh(beta A x + r(t) d + e_s(t) u_s) - x)
//
// x is every node's deviation from the reference state, in (-1, 1); d the disease drive, r(t) its
// schedule (a smooth ramp from onset to sampling at t = 0, then linear progression), u_s the drug
// input of scenario s and e_s(t) its exposure (constant from its start to its stop, or a
// one-compartment train of doses). Integrated with the Bogacki-Shampine 3(2) pair (FSAL: three new
// right-hand sides per step) with the step chosen by the local error: max over nodes and scenarios of
// |y3 - y2| / (tol (1 + max|x|)) <= 1. The step never crosses a breakpoint (a jump or kink of a
// schedule: treatment starts and stops, doses, t = 0), where the derivative is evaluated afresh.
// Every scenario is the untreated course until the first treatment starts: one column is integrated
// until then and copied into all, after which all advance in lockstep as the columns of one N x S
// block (one sparse product per stage). Activity of cell type c (the projection of x on its block of
// the projection vector p, activity.hpp) is recorded on a regular grid from the cubic Hermite
// interpolant of each step (third order, like the method).
//
// The right-hand side's row loop (course_rows) is a runtime-dispatched clone: a block of kBlock
// scenarios is one vector per row (AVX-512 or AVX2), with the same operations per entry as the scalar
// form (with the sparse product's clone, propagate.hpp: the Kang 2018 course stage 5.5 -> 3.0 s, the same bits).
//
// Determinism: rows are computed independently (each in a fixed order), the error norm is a maximum
// (exact in any order), so the steps and every value are the same for any thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "p4core/activity.hpp"
#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"
#include "p4core/propagate.hpp"
#include "p4core/simd.hpp"

namespace p4core {

// r(t) and e_s(t) in closed form.
struct CourseSchedule {
  double onset = 120.0;        // the drive starts at t = -onset
  double progression = 0.25;   // growth of the drive per year after t = 0
  std::vector<double> start;   // per scenario: exposure from just after `start`
  std::vector<double> stop;    // ... to `stop` (+inf: never stops)
  std::vector<double> lam;     // elimination rate of a dose train (0: constant exposure)
  std::vector<double> tau;     // dosing interval

  double drive(double t) const {
    if (t <= 0) {
      const double z = std::min(1.0, std::max(0.0, (t + onset) / std::max(onset, 1e-9)));
      return z * z * (3 - 2 * z);
    }
    return 1.0 + progression * t / 365.0;
  }

  // e_s(t); at a jump the value from the left (`left`) or the right
  double exposure(std::size_t s, double t, bool left) const {
    const double st = start[s];
    if (left ? t <= st : t < st) return 0.0;
    if (st == -std::numeric_limits<double>::infinity()) return 0.0;  // untreated
    if (lam[s] <= 0) return (left ? t <= stop[s] : t < stop[s]) ? 1.0 : 0.0;
    const double since = t - st, T = tau[s];
    double n = std::floor(since / T) + 1;  // doses given so far (at start, start + tau, ...)
    if (left && n > 1 && std::fabs(since - (n - 1) * T) < 1e-12) n -= 1;  // a dose due now: not yet
    if (std::isfinite(stop[s])) n = std::min(n, std::ceil((stop[s] - st) / T));
    const double last = since - (n - 1) * T;
    const double r = std::exp(-lam[s] * T);
    return std::exp(-lam[s] * last) * (1 - std::pow(r, n)) / (1 - r) * lam[s] * T;
  }
};

struct CourseOptions {
  double t0 = -120, t1 = 180;      // integrate from t0 to t1 (days)
  double record_every = 1.0;       // record spacing (days), from t0
  double tol = 1e-4;               // local error tolerance
  double max_step = 60.0;          // days
  double first_step = 0.5;         // days
  double beta = 0.8, gamma = 0.2;
  std::vector<double> breakpoints; // sorted; the step never crosses one
};

// Records on the grid t0, t0 + record_every, ... up to t1 (t1 included up to rounding).
inline std::int64_t n_records(const CourseOptions& opt) {
  return static_cast<std::int64_t>(std::floor((opt.t1 - opt.t0) / opt.record_every + 1e-9)) + 1;
}

struct CourseStats {
  std::int64_t steps = 0, rejected = 0, rhs = 0;
};

// tanh for the course's float32 twins: Lambert's continued fraction for tanh cut after ten levels,
// x P(x^2) / Q(x^2) with P and Q of degree 5, on |x| <= 7.6 (clamped beyond): |error| < 8e-7, well under
// the integration tolerance. One form for a float and for kBlock lanes of them (the row loop's vectors):
// compare-and-select clamps and the same products and sums in the same order on every lane
// (-ffp-contract=off), so the same bits in every clone and as the scalar. float64 twins use std::tanh.
template <class V>
P4CORE_INLINE V tanh_rational(V x) {
  const V lo = x < -7.6f ? V{} - 7.6f : x;
  const V c = lo > 7.6f ? V{} + 7.6f : lo;
  const V z = c * c;
  const V p = ((((7.273091945557423e-11f * z + 1.5600782223220672e-07f) * z + 4.9142464003145115e-05f) * z +
                0.004678362573099415f) * z + 0.14285714285714285f) * z + 1.0f;
  const V q = ((((4.800240684067899e-09f * z + 3.2761642668763414e-06f) * z + 0.0005503955968352253f) * z +
                0.03007518796992481f) * z + 0.47619047619047616f) * z + 1.0f;
  return c * p / q;
}
inline float course_tanh(float x) { return tanh_rational(x); }
inline double course_tanh(double x) { return std::tanh(x); }

// The right-hand side on rows [i0, i1) of a block of B columns (B = 1 before the branch):
// out = gamma (tanh(beta ax + r drive_i + e_b in_ib) - x). A block of exactly kBlock columns runs as
// one vector per row; any other width row by row (the same operations per entry).
template <class T, int NB>
P4CORE_INLINE void course_rows_impl(std::int64_t i0, std::int64_t i1, std::int64_t B, std::int64_t S, T r, T beta,
                                    T gamma, const T* drive, const T* in_rows, const T* eT, const T* ax, const T* xs,
                                    T* out) {
  if constexpr (std::is_same_v<T, float>) {
    if (B == kBlock && S == kBlock) {
      using R = Row<float, NB>;
      const R ex = row_load<float, NB>(eT);
      for (std::int64_t i = i0; i < i1; ++i) {
        const float base = r * drive[i];
        const std::int64_t k0 = i * kBlock;
        const R in_i = row_load<float, NB>(in_rows + k0), ax_i = row_load<float, NB>(ax + k0),
                x_i = row_load<float, NB>(xs + k0);
        R o;
#pragma GCC unroll 16
        for (int j = 0; j < R::P; ++j) {
          const typename R::nat in = ex.v[j] * in_i.v[j];
          o.v[j] = gamma * (tanh_rational(beta * ax_i.v[j] + base + in) - x_i.v[j]);
        }
        row_store(out + k0, o);
      }
      return;
    }
  }
  for (std::int64_t i = i0; i < i1; ++i) {
    const T base = r * drive[i];
    const std::int64_t k0 = i * B;
    const T* in_i = in_rows + i * S;  // before the branch (B = 1) column 0, untreated: eT = 0
    for (std::int64_t b = 0; b < B; ++b) {
      const T in = eT[b] * in_i[b];
      out[k0 + b] = gamma * (course_tanh(beta * ax[k0 + b] + base + in) - xs[k0 + b]);
    }
  }
}
P4CORE_WIDTHS(void course_rows(std::int64_t i0, std::int64_t i1, std::int64_t B, std::int64_t S, float r, float beta,
                               float gamma, const float* drive, const float* in_rows, const float* eT, const float* ax,
                               const float* xs, float* out),
              course_rows_impl<float, NB>(i0, i1, B, S, r, beta, gamma, drive, in_rows, eT, ax, xs, out);)
P4CORE_WIDTHS(void course_rows(std::int64_t i0, std::int64_t i1, std::int64_t B, std::int64_t S, double r,
                               double beta, double gamma, const double* drive, const double* in_rows, const double* eT,
                               const double* ax, const double* xs, double* out),
              course_rows_impl<double, NB>(i0, i1, B, S, r, beta, gamma, drive, in_rows, eT, ax, xs, out);)

// The step's local error, max over entries [i0, i1) of |y3 - y2| / (tol (1 + max(|x|, |y3|))), with
// y3 - y2 = h (-5/72 k1 + 1/12 k2 + 1/9 k3 - 1/8 k4), in double. A maximum is exact in any order, so
// the lanes of every width's version (kBlock entries at a time) give the very value of one entry after
// another: the same steps.
template <class V>
P4CORE_INLINE V abs_lanes(V v) {  // |v| by clearing the sign bits (exact, as std::fabs)
  typedef unsigned long long I __attribute__((vector_size(sizeof(V))));
  I bits;
  std::memcpy(&bits, &v, sizeof(v));
  bits &= ~(I{} + (1ULL << 63));
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}
template <class T, int NB>
P4CORE_INLINE double step_error_impl(const T* x, const T* y3, const T* k1, const T* k2, const T* k3, const T* k4,
                                     std::int64_t i0, std::int64_t i1, double h, double tol) {
  using R = Row<double, NB>;
  using D = typename R::nat;
  typedef T part __attribute__((vector_size(R::L * sizeof(T))));  // the lanes of one native double vector
  auto wide = [](const T* p) {
    part v;
    std::memcpy(&v, p, sizeof(v));
    return __builtin_convertvector(v, D);
  };
  R top = row_zero<double, NB>();
  std::int64_t i = i0;
  for (; i + kBlock <= i1; i += kBlock) {
#pragma GCC unroll 16
    for (int j = 0; j < R::P; ++j) {
      const std::int64_t o = i + j * R::L;
      const D d = h * (-5.0 / 72 * wide(k1 + o) + 1.0 / 12 * wide(k2 + o) + 1.0 / 9 * wide(k3 + o) - 1.0 / 8 * wide(k4 + o));
      const D ax = abs_lanes(wide(x + o)), ay = abs_lanes(wide(y3 + o));
      const D scale = tol * (1.0 + (ax < ay ? ay : ax));
      const D v = abs_lanes(d) / scale;
      top.v[j] = top.v[j] < v ? v : top.v[j];
    }
  }
  double err = 0.0;
  for (int b = 0; b < kBlock; ++b) err = std::max(err, top.lane(b));
  for (; i < i1; ++i) {
    const double d = h * (-5.0 / 72 * k1[i] + 1.0 / 12 * k2[i] + 1.0 / 9 * k3[i] - 1.0 / 8 * k4[i]);
    const double scale = tol * (1.0 + std::max(std::fabs(double(x[i])), std::fabs(double(y3[i]))));
    err = std::max(err, std::fabs(d) / scale);
  }
  return err;
}
P4CORE_WIDTHS(double step_error(const float* x, const float* y3, const float* k1, const float* k2, const float* k3,
                                const float* k4, std::int64_t i0, std::int64_t i1, double h, double tol),
              return step_error_impl<float, NB>(x, y3, k1, k2, k3, k4, i0, i1, h, tol);)
P4CORE_WIDTHS(double step_error(const double* x, const double* y3, const double* k1, const double* k2,
                                const double* k3, const double* k4, std::int64_t i0, std::int64_t i1, double h,
                                double tol),
              return step_error_impl<double, NB>(x, y3, k1, k2, k3, k4, i0, i1, h, tol);)

template <class T>
CourseStats course(const CsrView<T>& a, const T* x0, const T* drive, const T* inputs, const T* projection,
                   const std::int64_t* offsets, std::int64_t N, std::int64_t S, std::int64_t C,
                   const CourseSchedule& sch, const CourseOptions& opt, T* activity, int n_threads) {
  CourseStats st;
  const std::int64_t R = n_records(opt);
  const CellTypeActivity<T> activity_of(projection, offsets, C);
  double branch = opt.t1;  // every scenario is untreated before its start
  for (std::int64_t s = 0; s < S; ++s)
    if (std::isfinite(sch.start[static_cast<std::size_t>(s)])) branch = std::min(branch, sch.start[static_cast<std::size_t>(s)]);
  branch = std::max(branch, opt.t0);

  std::int64_t B = (branch > opt.t0) ? 1 : S;  // columns integrated now (1 before the branch)
  const std::size_t NS = static_cast<std::size_t>(N * S);
  std::vector<T> x(NS), y3(NS), k1(NS), k2(NS), k3(NS), k4(NS), tmp(NS), ax(NS);
  std::vector<double> e(static_cast<std::size_t>(S));
  std::vector<T> eT(static_cast<std::size_t>(S));
  std::vector<T> in_rows(NS);  // the inputs row-major (N x S), as the states: the row loop reads them in order
  for (std::int64_t s = 0; s < S; ++s)
    for (std::int64_t i = 0; i < N; ++i) in_rows[static_cast<std::size_t>(i * S + s)] = inputs[s * N + i];
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t s = 0; s < B; ++s) x[static_cast<std::size_t>(i * B + s)] = x0[i];
  const T beta = T(opt.beta), gamma = T(opt.gamma);

  // f(t, xs) for the first B columns (scenario s of column b: b when B == S, else 0 = untreated)
  auto rhs = [&](double t, bool left, const T* xs, T* out) {
    ++st.rhs;
    spmm(a, xs, ax.data(), B, T(1), n_threads);
    const T r = T(sch.drive(t));
    for (std::int64_t b = 0; b < B; ++b) e[static_cast<std::size_t>(b)] = B == S ? sch.exposure(static_cast<std::size_t>(b), t, left) : 0.0;
    for (std::int64_t b = 0; b < B; ++b) eT[static_cast<std::size_t>(b)] = T(e[static_cast<std::size_t>(b)]);
#pragma omp parallel num_threads(n_threads) if (N * B > 16384)
    {
      const std::int64_t nt = omp_threads(), id = omp_thread_num();
      course_rows(N * id / nt, N * (id + 1) / nt, B, S, r, beta, gamma, drive, in_rows.data(), eT.data(), ax.data(),
                  xs, out);
    }
  };
  // activity of every column at a state and of its derivative (C x B each)
  std::vector<double> a0(static_cast<std::size_t>(S * C)), da0(a0.size()), a1(a0.size()), da1(a0.size());
  std::vector<double> num(static_cast<std::size_t>(S));
  auto project = [&](const T* xs, std::vector<double>& out) { activity_of.all(xs, B, C, num.data(), out.data()); };
  std::int64_t next_rec = 0;
  auto write = [&](std::int64_t rec, std::int64_t b, const double* val) {  // column b -> its scenarios
    const std::int64_t lo = B == S ? b : 0, hi = B == S ? b + 1 : S;
    for (std::int64_t s = lo; s < hi; ++s)
      for (std::int64_t c = 0; c < C; ++c) activity[(s * R + rec) * C + c] = T(val[c]);
  };
  auto record_step = [&](double ta, double tb, double h) {  // records in (ta, tb]
    while (next_rec < R) {
      const double tr = opt.t0 + double(next_rec) * opt.record_every;
      if (tr > tb + 1e-9) break;
      const double th = std::min(1.0, std::max(0.0, (tr - ta) / h));
      const double h00 = (1 + 2 * th) * (1 - th) * (1 - th), h10 = th * (1 - th) * (1 - th);
      const double h01 = th * th * (3 - 2 * th), h11 = th * th * (th - 1);
      std::vector<double> v(static_cast<std::size_t>(C));
      for (std::int64_t b = 0; b < B; ++b) {
        for (std::int64_t c = 0; c < C; ++c) {
          const std::size_t k = static_cast<std::size_t>(b * C + c);
          v[static_cast<std::size_t>(c)] = h00 * a0[k] + h10 * h * da0[k] + h01 * a1[k] + h11 * h * da1[k];
        }
        write(next_rec, b, v.data());
      }
      ++next_rec;
    }
  };

  double t = opt.t0, h = opt.first_step;
  std::size_t bp = 0;
  while (bp < opt.breakpoints.size() && opt.breakpoints[bp] <= t + 1e-12) ++bp;
  rhs(t, false, x.data(), k1.data());
  project(x.data(), a0);
  project(k1.data(), da0);
  for (std::int64_t b = 0; b < B; ++b) write(0, b, &a0[static_cast<std::size_t>(b * C)]);
  next_rec = 1;
  const double eps_t = 1e-9;
  while (t < opt.t1 - eps_t) {
    double hit = std::min(opt.t1, bp < opt.breakpoints.size() ? opt.breakpoints[bp] : opt.t1);
    if (B < S) hit = std::min(hit, branch);
    h = std::min({h, opt.max_step, hit - t});
    const bool at_break = t + h >= hit - eps_t;
    const double tend = at_break ? hit : t + h;
    h = tend - t;
    const std::int64_t M = N * B;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (M > 16384)
    for (std::int64_t i = 0; i < M; ++i) tmp[i] = x[i] + T(h / 2) * k1[i];
    rhs(t + h / 2, false, tmp.data(), k2.data());
#pragma omp parallel for schedule(static) num_threads(n_threads) if (M > 16384)
    for (std::int64_t i = 0; i < M; ++i) tmp[i] = x[i] + T(3 * h / 4) * k2[i];
    rhs(t + 3 * h / 4, false, tmp.data(), k3.data());
#pragma omp parallel for schedule(static) num_threads(n_threads) if (M > 16384)
    for (std::int64_t i = 0; i < M; ++i) y3[i] = x[i] + T(h) * (T(2.0 / 9) * k1[i] + T(1.0 / 3) * k2[i] + T(4.0 / 9) * k3[i]);
    rhs(tend, at_break, y3.data(), k4.data());
    double err = 0.0;
#pragma omp parallel num_threads(n_threads) reduction(max : err) if (M > 16384)
    {
      const std::int64_t nt = omp_threads(), id = omp_thread_num();
      err = step_error(x.data(), y3.data(), k1.data(), k2.data(), k3.data(), k4.data(), M * id / nt,
                       M * (id + 1) / nt, h, opt.tol);
    }
    if (err > 1.0 && h > 1e-6) {  // reject: shrink and retry from t
      ++st.rejected;
      h *= std::max(0.2, 0.9 * std::pow(err, -1.0 / 3));
      continue;
    }
    ++st.steps;
    project(y3.data(), a1);
    project(k4.data(), da1);
    record_step(t, tend, h);
    x.swap(y3);
    k1.swap(k4);
    t = tend;
    const double grow = err > 0 ? std::min(5.0, 0.9 * std::pow(err, -1.0 / 3)) : 5.0;
    h = std::max(h * grow, 1e-6);
    bool refresh = false;
    if (B < S && t >= branch - eps_t) {  // every scenario from the untreated state
      for (std::int64_t i = N - 1; i >= 0; --i)
        for (std::int64_t s = S - 1; s >= 0; --s) x[static_cast<std::size_t>(i * S + s)] = x[static_cast<std::size_t>(i)];
      B = S;
      refresh = true;
    }
    while (bp < opt.breakpoints.size() && opt.breakpoints[bp] <= t + eps_t) {
      ++bp;
      refresh = true;
    }
    if (refresh) {  // a schedule jumps here (or the scenarios branch): the derivative from the right
      rhs(t, false, x.data(), k1.data());
      project(x.data(), a1);
      project(k1.data(), da1);
    }
    a0.swap(a1);
    da0.swap(da1);
  }
  while (next_rec < R) {  // a record exactly at t1 that rounding left out
    for (std::int64_t b = 0; b < B; ++b) write(next_rec, b, &a0[static_cast<std::size_t>(b * C)]);
    ++next_rec;
  }
  return st;
}

}  // namespace p4core
