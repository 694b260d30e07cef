// p4core kernel: disease-course dynamics of one twin under several scenarios.
//
//   dx/dt = gamma (tanh(beta A x + r(t) d + e_s(t) u_s) - x)
//
// x is the deviation of every node from the reference state, in (-1, 1) (x = 0 is the
// reference and a fixed point when r = e = 0), gamma the relaxation rate (1/day), d the disease drive, r(t) its schedule (onset, progression),
// u_s the drug input of scenario s and e_s(t) its exposure schedule. Integrated with
// classical RK4 on a fixed step. The schedules are given on the half-step grid
// (2 * n_steps + 1 points), so any onset, dosing or pharmacokinetic curve computed by the
// caller is honoured exactly. Disease activity of cell type c is the projection of x on the
// cell type's block of the projection vector p: a_c = <x_c, p_c> / <p_c, p_c> (activity.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "p4core/activity.hpp"
#include "p4core/csr.hpp"
#include "p4core/parallel.hpp"
#include "p4core/propagate.hpp"

namespace p4core {

struct SimulateShape {
  std::int64_t n_nodes = 0;
  std::int64_t n_scenarios = 0;
  std::int64_t n_steps = 0;       // RK4 steps
  std::int64_t record_every = 1;  // record activity every this many steps (and at step 0)
  std::int64_t n_celltypes = 0;
};

inline std::int64_t n_records(const SimulateShape& sh) { return sh.n_steps / sh.record_every + 1; }

template <class T>
void simulate(const CsrView<T>& a, const T* x0, const T* drive, const T* drive_schedule,
              const T* inputs, const T* input_schedule, const T* projection,
              const std::int64_t* offsets, const SimulateShape& sh, T dt, T beta, T gamma,
              T* activity, int n_threads) {
  const std::int64_t N = sh.n_nodes, C = sh.n_celltypes, n_half = 2 * sh.n_steps + 1;
  const std::int64_t R = n_records(sh);
  const CellTypeActivity<T> activity_of(projection, offsets, C);

  // All scenarios advance in lockstep as the columns of a row-major N x S block, so every RK4
  // stage is one sparse product over the block (rows in parallel, each row by one thread in a
  // fixed order: the result does not depend on the thread count).
  const std::int64_t S = sh.n_scenarios;
  const std::size_t NS = static_cast<std::size_t>(N * S);
  std::vector<T> x(NS), k1(NS), k2(NS), k3(NS), k4(NS), tmp(NS), ax(NS);
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t s = 0; s < S; ++s) x[i * S + s] = x0[i];

  auto rhs = [&](const T* xs, std::int64_t half_index, T* out) {
    spmm(a, xs, ax.data(), S, T(1), n_threads);
    const T r = drive_schedule[half_index];
#pragma omp parallel for schedule(static) num_threads(n_threads) if (N * S > 16384)
    for (std::int64_t i = 0; i < N; ++i) {
      const T base = r * drive[i];
      for (std::int64_t s = 0; s < S; ++s) {
        const std::int64_t k = i * S + s;
        out[k] = gamma * (std::tanh(beta * ax[k] + base + input_schedule[s * n_half + half_index] * inputs[s * N + i]) - xs[k]);
      }
    }
  };
  auto axpy = [&](const T* base, T h, const T* k, T* out) {
#pragma omp parallel for schedule(static) num_threads(n_threads) if (N * S > 16384)
    for (std::int64_t i = 0; i < N * S; ++i) out[i] = base[i] + h * k[i];
  };
  auto record = [&](std::int64_t rec) {
    for (std::int64_t s = 0; s < S; ++s) {
      T* act = activity + (s * R + rec) * C;
      for (std::int64_t c = 0; c < C; ++c) act[c] = T(activity_of(x.data(), S, s, c));
    }
  };

  record(0);
  const T h = dt, h2 = dt / 2;
  for (std::int64_t step = 0; step < sh.n_steps; ++step) {
    const std::int64_t j = 2 * step;
    rhs(x.data(), j, k1.data());
    axpy(x.data(), h2, k1.data(), tmp.data());
    rhs(tmp.data(), j + 1, k2.data());
    axpy(x.data(), h2, k2.data(), tmp.data());
    rhs(tmp.data(), j + 1, k3.data());
    axpy(x.data(), h, k3.data(), tmp.data());
    rhs(tmp.data(), j + 2, k4.data());
#pragma omp parallel for schedule(static) num_threads(n_threads) if (N * S > 16384)
    for (std::int64_t i = 0; i < N * S; ++i) x[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    if ((step + 1) % sh.record_every == 0) record((step + 1) / sh.record_every);
  }
}

}  // namespace p4core
