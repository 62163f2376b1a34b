// The native vector width of the instruction set a CPU kernel file is compiled for (the kernels
// are built once per instruction set: kernels/cpu/*_{generic,avx2,avx512}.cpp), and the warning
// setting their vector helpers need. The constant has internal linkage, so every build of a kernel
// sees its own.
#pragma once

// The kernels' vector helpers are always inlined, so GCC's note that passing wide vectors by value
// would change the calling convention without AVX/AVX-512 never applies.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace ssmkit::kernels_cpu {

// Bytes of one native vector register. Wider vector types than the hardware has are lowered
// badly by GCC (comparisons become scalar code), so the width follows the instruction set.
#if defined(__AVX512F__)
constexpr int kNativeVectorBytes = 64;
#elif defined(__AVX__)
constexpr int kNativeVectorBytes = 32;
#else
constexpr int kNativeVectorBytes = 16;
#endif

}  // namespace ssmkit::kernels_cpu
