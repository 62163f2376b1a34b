// Which of the kernels' instruction-set builds this CPU runs (CPUID through the compiler's
// builtins; elsewhere only the generic build).
#pragma once

namespace ssmkit::kernels_cpu {

// The AVX-512 builds: AVX-512F and FMA.
inline bool cpu_runs_avx512() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// The AVX2 builds: AVX2 and FMA.
inline bool cpu_runs_avx2() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace ssmkit::kernels_cpu
