#include "intraop.h"

#include <ATen/Config.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <algorithm>

namespace ctorch {
namespace {

#if AT_PARALLEL_OPENMP
// libgomp's entry points: GOMP_parallel is what GCC emits for `#pragma omp parallel`.
struct GompTeam {
    void (*parallel)(void (*)(void *), void *, unsigned, unsigned) = nullptr;
    int (*thread_num)() = nullptr;
    int (*num_threads)() = nullptr;

    static const GompTeam *resolve() {
        static const GompTeam team = [] {
            GompTeam t;
            t.parallel = reinterpret_cast<decltype(t.parallel)>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
            t.thread_num = reinterpret_cast<decltype(t.thread_num)>(dlsym(RTLD_DEFAULT, "omp_get_thread_num"));
            t.num_threads = reinterpret_cast<decltype(t.num_threads)>(dlsym(RTLD_DEFAULT, "omp_get_num_threads"));
            return t;
        }();
        return team.parallel && team.thread_num && team.num_threads ? &team : nullptr;
    }
};

struct Job {
    const GompTeam *team;
    int64_t count;
    const std::function<void(int64_t, int64_t)> *body;
};

void run_share(void *data) {
    const auto &job = *static_cast<const Job *>(data);
    const int64_t threads = std::max(1, job.team->num_threads());
    const int64_t thread = job.team->thread_num();
    const int64_t share = (job.count + threads - 1) / threads;
    const int64_t first = thread * share;
    const int64_t end = std::min(job.count, first + share);
    if (first < end) (*job.body)(first, end);
}
#endif

}  // namespace

void parallel_runs(int64_t count, const std::function<void(int64_t, int64_t)> &body) {
    if (count <= 0) return;
#if AT_PARALLEL_OPENMP
    const GompTeam *team = GompTeam::resolve();
    if (count == 1 || team == nullptr || at::in_parallel_region() || at::get_num_threads() <= 1) {
        body(0, count);
        return;
    }
    // As at::parallel_for does: this thread's OpenMP team size follows at::set_num_threads.
    at::init_num_threads();
    Job job{team, count, &body};
    team->parallel(run_share, &job, 0, 0);
#else
    at::parallel_for(0, count, 1, body);
#endif
}

}  // namespace ctorch
