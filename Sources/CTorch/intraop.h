// Splitting a loop across libtorch's intra-op threads from bridge code (not part of the C API).
#pragma once

#include <cstdint>
#include <functional>

namespace ctorch {

/// Runs body(first, end) over [0, count), one contiguous run per thread of libtorch's intra-op
/// team (at::get_num_threads()), on the same threads libtorch's own operators use.
///
/// at::parallel_for cannot do this here: in OpenMP builds of libtorch it is an inline template
/// whose `#pragma omp parallel` needs the bridge compiled with GCC's -fopenmp, and the toolchain's
/// clang emits calls to LLVM's runtime instead of the libgomp libtorch ships. So this enters
/// libgomp's team through its ABI entry point, found at run time; without it the loop runs on
/// the calling thread. `body` must not throw.
void parallel_runs(int64_t count, const std::function<void(int64_t, int64_t)> &body);

}  // namespace ctorch
