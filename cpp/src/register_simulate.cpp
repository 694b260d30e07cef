// Bindings of the disease-course ODE kernel (float32 and float64): one twin, or many twins in
// parallel (OpenMP over twins; every twin's scenarios advance in lockstep inside).
#include <algorithm>
#include <memory>
#include <vector>

#include <pybind11/stl.h>

#include "binding_utils.hpp"
#include "p4core/course.hpp"
#include "p4core/simulate.hpp"

namespace p4core::bind {
namespace {

// One twin's validated arrays, borrowed from Python: the tuple (indptr, indices, data, x0, drive, inputs,
// projection, offsets) both course kernels take.
template <class T>
struct TwinArrays {
  py::array_t<T, py::array::c_style> x0;
  Csr<T> a;
  py::array_t<T, py::array::c_style> drive, inputs, proj;
  py::array_t<std::int64_t, py::array::c_style> off;

  explicit TwinArrays(const py::tuple& t)
      : x0(take<T>(t[3].cast<py::array>(), "x0", 1)),
        a(t[0].cast<py::array>(), t[1].cast<py::array>(), t[2].cast<py::array>(), x0.shape(0), "x0"),
        drive(take<T>(t[4].cast<py::array>(), "drive", 1)),
        inputs(take<T>(t[5].cast<py::array>(), "inputs", 2)),
        proj(take<T>(t[6].cast<py::array>(), "projection", 1)),
        off(take_offsets(t[7].cast<py::array>(), x0.shape(0))) {
    const std::int64_t N = x0.shape(0);
    require(drive.shape(0) == N, "drive must have n_nodes entries");
    require(proj.shape(0) == N, "projection must have n_nodes entries");
    require(inputs.shape(1) == N, "inputs must be n_scenarios x n_nodes");
  }

  std::int64_t n_celltypes() const { return off.shape(0) - 1; }
};

inline py::tuple twin_tuple(py::handle h) {
  auto t = h.cast<py::tuple>();
  require(t.size() == 8, "each twin is (indptr, indices, data, x0, drive, inputs, projection, offsets)");
  return t;
}

// The array whose dtype picks the kernel for a list of twins: the first twin's data.
inline py::array first_twin_data(const py::list& twins) { return twins[0].cast<py::tuple>()[2].cast<py::array>(); }

// run(job, k, n_threads) for every twin's job k, without the GIL: one twin with all the threads, or
// one twin per thread, each on one thread (a twin's steps and values do not depend on the thread
// count: rows are summed in a fixed order, so the same bits for any split).
template <class Job, class Run>
void run_twins(const std::vector<std::unique_ptr<Job>>& jobs, int n_threads, const Run& run) {
  const std::int64_t n = static_cast<std::int64_t>(jobs.size());
  py::gil_scoped_release release;
  if (n == 1) {
    run(*jobs[0], 0, n_threads);
  } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (std::int64_t k = 0; k < n; ++k) run(*jobs[static_cast<std::size_t>(k)], k, 1);
  }
}

// A twin of the fixed-step reference (RK4) and its output.
template <class T>
struct SimJob : TwinArrays<T> {
  SimulateShape sh;
  py::array_t<T, py::array::c_style> act;

  SimJob(const py::tuple& t, std::int64_t n_half, std::int64_t n_schedules, std::int64_t record_every)
      : TwinArrays<T>(t) {
    require(n_half >= 3 && n_half % 2 == 1, "drive_schedule must have 2 * n_steps + 1 entries (odd, >= 3)");
    require(n_schedules == this->inputs.shape(0),
            "input_schedule must be n_scenarios x (2 * n_steps + 1), like drive_schedule");
    require(record_every >= 1, "record_every must be >= 1");
    sh.n_nodes = this->x0.shape(0);
    sh.n_scenarios = this->inputs.shape(0);
    sh.n_steps = (n_half - 1) / 2;
    sh.record_every = record_every;
    sh.n_celltypes = this->n_celltypes();
    act = py::array_t<T, py::array::c_style>({sh.n_scenarios, n_records(sh), sh.n_celltypes});
  }

  void run(const T* ds, const T* is, T dt, T beta, T gamma, T* out, int n_threads) const {
    simulate(this->a.view, this->x0.data(), this->drive.data(), ds, this->inputs.data(), is, this->proj.data(),
             this->off.data(), sh, dt, beta, gamma, out, n_threads);
  }
};

template <class T>
py::list simulate_twins_t(const py::list& twins, const py::array& drive_schedule_, const py::array& input_schedule_,
                          double dt, double beta, double gamma, std::int64_t record_every, int n_threads) {
  auto ds = take<T>(drive_schedule_, "drive_schedule", 1);
  auto is = take<T>(input_schedule_, "input_schedule", 2);
  require(is.shape(1) == ds.shape(0), "input_schedule must be n_scenarios x (2 * n_steps + 1), like drive_schedule");
  require(dt > 0 && std::isfinite(dt), "dt must be positive");
  std::vector<std::unique_ptr<SimJob<T>>> jobs;
  for (py::handle h : twins)
    jobs.push_back(std::make_unique<SimJob<T>>(twin_tuple(h), ds.shape(0), is.shape(0), record_every));
  std::vector<T*> outs;
  for (auto& j : jobs) outs.push_back(j->act.mutable_data());
  const int nt = resolve_threads(n_threads);
  const T *dsp = ds.data(), *isp = is.data();
  run_twins(jobs, nt, [&](const SimJob<T>& job, std::int64_t k, int threads) {
    job.run(dsp, isp, T(dt), T(beta), T(gamma), outs[static_cast<std::size_t>(k)], threads);
  });
  py::list out;
  for (auto& j : jobs) out.append(j->act);
  return out;
}

// One twin of the adaptive course and its output.
template <class T>
struct CourseJob : TwinArrays<T> {
  py::array_t<T, py::array::c_style> act;
  CourseStats stats;

  CourseJob(const py::tuple& t, std::int64_t n_scenarios, std::int64_t n_records) : TwinArrays<T>(t) {
    require(this->inputs.shape(0) == n_scenarios,
            "inputs must be n_scenarios x n_nodes (one row per scenario of the schedule)");
    act = py::array_t<T, py::array::c_style>({n_scenarios, n_records, this->n_celltypes()});
  }

  void run(const CourseSchedule& sch, const CourseOptions& opt, int n_threads) {
    stats = course(this->a.view, this->x0.data(), this->drive.data(), this->inputs.data(), this->proj.data(),
                   this->off.data(), this->x0.shape(0), this->inputs.shape(0), this->n_celltypes(), sch, opt,
                   act.mutable_data(), n_threads);
  }
};

template <class T>
py::tuple course_twins_t(const py::list& twins, const CourseSchedule& sch, const CourseOptions& opt, int n_threads) {
  const std::int64_t S = static_cast<std::int64_t>(sch.start.size());
  const std::int64_t R = n_records(opt);
  std::vector<std::unique_ptr<CourseJob<T>>> jobs;
  for (py::handle h : twins) jobs.push_back(std::make_unique<CourseJob<T>>(twin_tuple(h), S, R));
  run_twins(jobs, resolve_threads(n_threads),
            [&](CourseJob<T>& job, std::int64_t, int threads) { job.run(sch, opt, threads); });
  py::list out, stats;
  for (auto& j : jobs) {
    out.append(j->act);
    stats.append(py::make_tuple(j->stats.steps, j->stats.rejected, j->stats.rhs));
  }
  return py::make_tuple(out, stats);
}

}  // namespace

void register_simulate(py::module_& m) {
  m.def(
      "course_twins",
      [](const py::list& twins, double onset, double progression, std::vector<double> start, std::vector<double> stop,
         std::vector<double> lam, std::vector<double> tau, double t0, double t1, double record_every, double tol,
         double max_step, double first_step, double beta, double gamma, std::vector<double> breakpoints,
         int n_threads) -> py::tuple {
        require(py::len(twins) >= 1, "twins must hold at least one twin");
        require(!start.empty(), "start must name at least one scenario");
        require(stop.size() == start.size() && lam.size() == start.size() && tau.size() == start.size(),
                "start, stop, lam and tau must have one entry per scenario");
        require(t1 > t0, "t1 must be after t0");
        require(record_every > 0 && tol > 0 && max_step > 0 && first_step > 0,
                "record_every, tol, max_step and first_step must be positive");
        for (std::size_t s = 0; s < tau.size(); ++s)
          require(lam[s] <= 0 || tau[s] > 0, "a dose train (lam > 0) needs a positive dosing interval tau");
        std::sort(breakpoints.begin(), breakpoints.end());
        CourseSchedule sch;
        sch.onset = onset;
        sch.progression = progression;
        sch.start = std::move(start);
        sch.stop = std::move(stop);
        sch.lam = std::move(lam);
        sch.tau = std::move(tau);
        CourseOptions opt;
        opt.t0 = t0;
        opt.t1 = t1;
        opt.record_every = record_every;
        opt.tol = tol;
        opt.max_step = max_step;
        opt.first_step = first_step;
        opt.beta = beta;
        opt.gamma = gamma;
        opt.breakpoints = std::move(breakpoints);
        return by_dtype(first_twin_data(twins), "data",
                        [&](auto t) { return course_twins_t<decltype(t)>(twins, sch, opt, n_threads); });
      },
      py::arg("twins"), py::arg("onset"), py::arg("progression"), py::arg("start"), py::arg("stop"), py::arg("lam"),
      py::arg("tau"), py::arg("t0"), py::arg("t1"), py::arg("record_every"), py::arg("tol"), py::arg("max_step"),
      py::arg("first_step"), py::arg("beta"), py::arg("gamma"), py::arg("breakpoints"), py::arg("n_threads") = 0,
      "Error-controlled (Bogacki-Shampine 3(2)) integration of dx/dt = gamma (tanh(beta A x + r(t) drive + "
      "e_s(t) u_s) - x) for every scenario s of every twin (indptr, indices, data, x0, drive, inputs, projection, "
      "offsets), twins in parallel; the schedules in closed form (onset ramp and progression; per scenario start, "
      "stop, elimination rate lam and dosing interval tau; start = -inf: untreated). Returns (one array "
      "(n_scenarios, n_records, n_celltypes) of activity per twin, one (steps, rejected, rhs) per twin).");
  m.def(
      "simulate_twins",
      [](const py::list& twins, const py::array& drive_schedule, const py::array& input_schedule, double dt,
         double beta, double gamma, std::int64_t record_every, int n_threads) -> py::list {
        require(py::len(twins) >= 1, "twins must hold at least one twin");
        return by_dtype(first_twin_data(twins), "data", [&](auto t) {
          return simulate_twins_t<decltype(t)>(twins, drive_schedule, input_schedule, dt, beta, gamma, record_every,
                                               n_threads);
        });
      },
      py::arg("twins"), py::arg("drive_schedule").noconvert(), py::arg("input_schedule").noconvert(), py::arg("dt"),
      py::arg("beta"), py::arg("gamma"), py::arg("record_every") = 1, py::arg("n_threads") = 0,
      "RK4 integration of dx/dt = gamma (tanh(beta A x + r(t) drive + e_s(t) u_s) - x) for every scenario s of "
      "every twin (indptr, indices, data, x0, drive, inputs, projection, offsets), twins in parallel; returns one "
      "array (n_scenarios, n_records, n_celltypes) of disease activity per twin.");
}

}  // namespace p4core::bind
