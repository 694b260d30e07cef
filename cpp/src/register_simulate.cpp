// Bindings of the disease-course ODE kernel (float32 and float64): one twin, or many twins in
// parallel (OpenMP over twins; every twin's scenarios advance in lockstep inside).
#include <memory>
#include <vector>

#include "binding_utils.hpp"
#include "p4core/simulate.hpp"

namespace p4core::bind {
namespace {

// One twin's validated arrays and its output; the arrays are borrowed from Python.
template <class T>
struct SimJob {
  py::array_t<T, py::array::c_style> x0;
  Csr<T> a;
  py::array_t<T, py::array::c_style> drive, inputs, proj;
  py::array_t<std::int64_t, py::array::c_style> off;
  SimulateShape sh;
  py::array_t<T, py::array::c_style> act;

  SimJob(const py::array& indptr, const py::array& indices, const py::array& data, const py::array& x0_,
         const py::array& drive_, const py::array& inputs_, const py::array& projection_, const py::array& offsets_,
         std::int64_t n_half, std::int64_t n_schedules, std::int64_t record_every)
      : x0(take<T>(x0_, "x0", 1)),
        a(indptr, indices, data, x0.shape(0), "x0"),
        drive(take<T>(drive_, "drive", 1)),
        inputs(take<T>(inputs_, "inputs", 2)),
        proj(take<T>(projection_, "projection", 1)),
        off(take_offsets(offsets_, x0.shape(0))) {
    const std::int64_t N = x0.shape(0);
    require(drive.shape(0) == N, "drive must have n_nodes entries");
    require(proj.shape(0) == N, "projection must have n_nodes entries");
    require(inputs.shape(1) == N, "inputs must be n_scenarios x n_nodes");
    require(n_half >= 3 && n_half % 2 == 1, "drive_schedule must have 2 * n_steps + 1 entries (odd, >= 3)");
    require(n_schedules == inputs.shape(0),
            "input_schedule must be n_scenarios x (2 * n_steps + 1), like drive_schedule");
    require(record_every >= 1, "record_every must be >= 1");
    sh.n_nodes = N;
    sh.n_scenarios = inputs.shape(0);
    sh.n_steps = (n_half - 1) / 2;
    sh.record_every = record_every;
    sh.n_celltypes = off.shape(0) - 1;
    act = py::array_t<T, py::array::c_style>({sh.n_scenarios, n_records(sh), sh.n_celltypes});
  }

  void run(const T* ds, const T* is, T dt, T beta, T gamma, T* out, int n_threads) const {
    simulate(a.view, x0.data(), drive.data(), ds, inputs.data(), is, proj.data(), off.data(), sh, dt, beta, gamma, out,
             n_threads);
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
  for (py::handle h : twins) {
    auto t = h.cast<py::tuple>();
    require(t.size() == 8, "each twin is (indptr, indices, data, x0, drive, inputs, projection, offsets)");
    jobs.push_back(std::make_unique<SimJob<T>>(
        t[0].cast<py::array>(), t[1].cast<py::array>(), t[2].cast<py::array>(), t[3].cast<py::array>(),
        t[4].cast<py::array>(), t[5].cast<py::array>(), t[6].cast<py::array>(), t[7].cast<py::array>(), ds.shape(0),
        is.shape(0), record_every));
  }
  std::vector<T*> outs;
  for (auto& j : jobs) outs.push_back(j->act.mutable_data());
  const int nt = resolve_threads(n_threads);
  const std::int64_t n = static_cast<std::int64_t>(jobs.size());
  const T *dsp = ds.data(), *isp = is.data();
  {
    py::gil_scoped_release release;
    if (n == 1) {
      jobs[0]->run(dsp, isp, T(dt), T(beta), T(gamma), outs[0], nt);
    } else {
      // one twin per thread, each on one thread: the same bits as any other split (rows are
      // summed in a fixed order whatever the thread count)
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
      for (std::int64_t k = 0; k < n; ++k) jobs[static_cast<std::size_t>(k)]->run(dsp, isp, T(dt), T(beta), T(gamma), outs[static_cast<std::size_t>(k)], 1);
    }
  }
  py::list out;
  for (auto& j : jobs) out.append(j->act);
  return out;
}

}  // namespace

void register_simulate(py::module_& m) {
  m.def(
      "simulate_twins",
      [](const py::list& twins, const py::array& drive_schedule, const py::array& input_schedule, double dt,
         double beta, double gamma, std::int64_t record_every, int n_threads) -> py::list {
        require(py::len(twins) >= 1, "twins must hold at least one twin");
        const py::array data = twins[0].cast<py::tuple>()[2].cast<py::array>();
        if (has_dtype<float>(data))
          return simulate_twins_t<float>(twins, drive_schedule, input_schedule, dt, beta, gamma, record_every, n_threads);
        if (has_dtype<double>(data))
          return simulate_twins_t<double>(twins, drive_schedule, input_schedule, dt, beta, gamma, record_every, n_threads);
        throw py::type_error("data must have dtype float32 or float64, got " + dtype_name(data));
      },
      py::arg("twins"), py::arg("drive_schedule").noconvert(), py::arg("input_schedule").noconvert(), py::arg("dt"),
      py::arg("beta"), py::arg("gamma"), py::arg("record_every") = 1, py::arg("n_threads") = 0,
      "RK4 integration of dx/dt = gamma (tanh(beta A x + r(t) drive + e_s(t) u_s) - x) for every scenario s of "
      "every twin (indptr, indices, data, x0, drive, inputs, projection, offsets), twins in parallel; returns one "
      "array (n_scenarios, n_records, n_celltypes) of disease activity per twin.");
}

}  // namespace p4core::bind
