// Run-time CPU feature detection: which vector and matrix instruction sets this process may use.
//
// An instruction set is usable only when the CPU has it (cpuid) AND the kernel saves its register
// state on context switches (XCR0, read with xgetbv). AMX additionally needs a per-process grant of
// the tile data state on Linux (arch_prctl ARCH_REQ_XCOMP_PERM), which is what oneDNN requests
// before its first AMX kernel; detection requests it here too, so that "usable" is the truth.
#include "bridge.h"

#include <ATen/cpu/Utils.h>

#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CTORCH_X86 1
#endif

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace {

#if CTORCH_X86

struct Registers {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// cpuid(leaf, subleaf); all zero when the leaf is beyond the CPU's maximum.
Registers cpuid(unsigned leaf, unsigned subleaf) {
    Registers r;
    if (__get_cpuid_max(leaf & 0x80000000u, nullptr) < leaf) return r;
    __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
    return r;
}

bool bit(unsigned value, int index) { return ((value >> index) & 1u) != 0; }

// XCR0 through xgetbv; 0 when the OS has not enabled XSAVE (then no extended state is usable).
uint64_t xcr0(const Registers &leaf1) {
    if (!bit(leaf1.ecx, 27)) return 0;  // OSXSAVE
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Linux: ask for (and confirm) permission to use the AMX tile data state in this process.
bool amx_permission() {
#if defined(__linux__)
    constexpr long arch_get_xcomp_perm = 0x1022;
    constexpr long arch_req_xcomp_perm = 0x1023;
    constexpr long xfeature_xtiledata = 18;
    if (syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) != 0) return false;
    unsigned long permitted = 0;
    if (syscall(SYS_arch_prctl, arch_get_xcomp_perm, &permitted) != 0) return false;
    return ((permitted >> xfeature_xtiledata) & 1ul) != 0;
#else
    return true;
#endif
}

void detect(ct_cpu_features *out) {
    const Registers leaf1 = cpuid(1, 0);
    const Registers leaf7 = cpuid(7, 0);
    const Registers leaf7_1 = cpuid(7, 1);
    out->cpu_fma = bit(leaf1.ecx, 12);
    out->cpu_avx2 = bit(leaf7.ebx, 5);
    // oneDNN's avx512_core: F, DQ, BW, VL.
    out->cpu_avx512_core = bit(leaf7.ebx, 16) && bit(leaf7.ebx, 17) && bit(leaf7.ebx, 30) && bit(leaf7.ebx, 31);
    out->cpu_avx512_bf16 = bit(leaf7_1.eax, 5);
    out->cpu_amx_bf16 = bit(leaf7.edx, 22);
    out->cpu_amx_tile = bit(leaf7.edx, 24);

    const uint64_t xcr = xcr0(leaf1);
    out->os_ymm = (xcr & 0x6u) == 0x6u;             // SSE (1) + AVX (2) state
    out->os_zmm = (xcr & 0xE6u) == 0xE6u;           // + opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7)
    out->os_amx = (xcr & 0x60000u) == 0x60000u;     // XTILECFG (17) + XTILEDATA (18)
    out->amx_permitted = out->cpu_amx_tile && out->os_amx ? amx_permission() : 0;
}

#else

void detect(ct_cpu_features *) {}

#endif

}  // namespace

namespace ctorch {

const ct_cpu_features &cpu_features() {
    static const ct_cpu_features features = [] {
        ct_cpu_features detected;
        ct_cpu_features_detect(&detected);
        return detected;
    }();
    return features;
}

bool avx2_usable() {
    const ct_cpu_features &f = cpu_features();
    return f.cpu_avx2 && f.cpu_fma && f.os_ymm;
}

bool avx512_usable() {
    const ct_cpu_features &f = cpu_features();
    return avx2_usable() && f.cpu_avx512_core && f.os_zmm;
}

}  // namespace ctorch

extern "C" {

void ct_cpu_features_detect(ct_cpu_features *out) {
    if (out == nullptr) return;
    std::memset(out, 0, sizeof(*out));
    detect(out);
}

int ct_cpu_capability(const char *name) {
    try {
        if (name == nullptr) return -1;
        const auto capabilities = at::cpu::get_cpu_capabilities();
        const auto found = capabilities.find(name);
        if (found == capabilities.end() || !found->second.isBool()) return -1;
        return found->second.toBool() ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

}  // extern "C"
