// The compiled core p4core._core: private, wrapped by typed Python in p4core.kernel.
#include <pybind11/pybind11.h>

#include "binding_utils.hpp"
#include "p4core/parallel.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "p4core compiled kernel (private: use p4core.kernel)";
  m.def("has_openmp", &p4core::has_openmp, "True when the kernel was built with OpenMP.");
  m.def("max_threads", &p4core::max_threads, "Threads the kernel uses by default.");
  p4core::bind::register_propagate(m);
  p4core::bind::register_simulate(m);
  p4core::bind::register_fit(m);
  p4core::bind::register_stats(m);
}
