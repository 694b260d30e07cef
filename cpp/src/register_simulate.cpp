// Bindings of the disease-course ODE kernel (float32 and float64).
#include "binding_utils.hpp"
#include "p4core/simulate.hpp"

namespace p4core::bind {
namespace {

template <class T>
py::array simulate_t(const py::array& indptr, const py::array& indices, const py::array& data,
                     const py::array& x0_, const py::array& drive_, const py::array& drive_schedule_,
                     const py::array& inputs_, const py::array& input_schedule_, const py::array& projection_,
                     const py::array& offsets_, double dt, double beta, double gamma, std::int64_t record_every,
                     int n_threads) {
  auto x0 = take<T>(x0_, "x0", 1);
  const std::int64_t N = x0.shape(0);
  Csr<T> a(indptr, indices, data, N, "x0");
  auto drive = take<T>(drive_, "drive", 1);
  auto ds = take<T>(drive_schedule_, "drive_schedule", 1);
  auto inputs = take<T>(inputs_, "inputs", 2);
  auto is = take<T>(input_schedule_, "input_schedule", 2);
  auto proj = take<T>(projection_, "projection", 1);
  auto off = take_offsets(offsets_, N);
  require(drive.shape(0) == N, "drive must have n_nodes entries");
  require(proj.shape(0) == N, "projection must have n_nodes entries");
  require(inputs.shape(1) == N, "inputs must be n_scenarios x n_nodes");
  require(ds.shape(0) >= 3 && ds.shape(0) % 2 == 1, "drive_schedule must have 2 * n_steps + 1 entries (odd, >= 3)");
  require(is.shape(0) == inputs.shape(0) && is.shape(1) == ds.shape(0),
          "input_schedule must be n_scenarios x (2 * n_steps + 1), like drive_schedule");
  require(record_every >= 1, "record_every must be >= 1");
  require(dt > 0 && std::isfinite(dt), "dt must be positive");
  SimulateShape sh;
  sh.n_nodes = N;
  sh.n_scenarios = inputs.shape(0);
  sh.n_steps = (ds.shape(0) - 1) / 2;
  sh.record_every = record_every;
  sh.n_celltypes = off.shape(0) - 1;
  py::array_t<T, py::array::c_style> act({sh.n_scenarios, n_records(sh), sh.n_celltypes});
  T* ap = act.mutable_data();
  const int nt = resolve_threads(n_threads);
  {
    py::gil_scoped_release release;
    simulate(a.view, x0.data(), drive.data(), ds.data(), inputs.data(), is.data(), proj.data(), off.data(), sh,
             T(dt), T(beta), T(gamma), ap, nt);
  }
  return std::move(act);
}

}  // namespace

void register_simulate(py::module_& m) {
  m.def(
      "simulate",
      [](const py::array& indptr, const py::array& indices, const py::array& data, const py::array& x0,
         const py::array& drive, const py::array& drive_schedule, const py::array& inputs,
         const py::array& input_schedule, const py::array& projection, const py::array& offsets, double dt,
         double beta, double gamma, std::int64_t record_every, int n_threads) -> py::array {
        if (has_dtype<float>(data))
          return simulate_t<float>(indptr, indices, data, x0, drive, drive_schedule, inputs, input_schedule,
                                   projection, offsets, dt, beta, gamma, record_every, n_threads);
        if (has_dtype<double>(data))
          return simulate_t<double>(indptr, indices, data, x0, drive, drive_schedule, inputs, input_schedule,
                                    projection, offsets, dt, beta, gamma, record_every, n_threads);
        throw py::type_error("data must have dtype float32 or float64, got " + dtype_name(data));
      },
      py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("data").noconvert(),
      py::arg("x0").noconvert(), py::arg("drive").noconvert(), py::arg("drive_schedule").noconvert(),
      py::arg("inputs").noconvert(), py::arg("input_schedule").noconvert(), py::arg("projection").noconvert(),
      py::arg("offsets").noconvert(), py::arg("dt"), py::arg("beta"), py::arg("gamma"), py::arg("record_every") = 1,
      py::arg("n_threads") = 0,
      "RK4 integration of dx/dt = gamma (tanh(beta A x + r(t) drive + e_s(t) u_s) - x) for every scenario s; "
      "returns disease activity per cell type, shape (n_scenarios, n_records, n_celltypes).");
}

}  // namespace p4core::bind
