# Decides whether the CUDA kernels are built (SSMKIT_CUDA = AUTO | ON | OFF) and how.
include(CheckLanguage)
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS "/usr/local/cuda/bin/nvcc")
  set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc" CACHE FILEPATH "CUDA compiler")
endif()

set(SSMKIT_CUDA_ARCHITECTURES "90" CACHE STRING "CUDA architectures for the kernels (H100/H200 = 90)")

set(SSMKIT_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(SSMKIT_TORCH_HAS_CUDA ON)
endif()

set(SSMKIT_WITH_CUDA OFF)
if(NOT SSMKIT_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(SSMKIT_TORCH_HAS_CUDA AND CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    set(SSMKIT_WITH_CUDA ON)
  elseif(SSMKIT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SSMKIT_CUDA=ON but Torch has CUDA: ${SSMKIT_TORCH_HAS_CUDA}, "
      "nvcc: '${CMAKE_CUDA_COMPILER}'. Use a CUDA build of LibTorch and a working nvcc, or SSMKIT_CUDA=OFF.")
  endif()
endif()
if(SSMKIT_WITH_CUDA)
  list(APPEND SSMKIT_PUBLIC_DEFINITIONS SSMKIT_WITH_CUDA=1)
  # LibTorch's CMake appends -gencode flags for the architectures it was built for; the kernels
  # are built for SSMKIT_CUDA_ARCHITECTURES only (each extra target doubles their compile time).
  string(REGEX REPLACE "-gencode[ =]arch=compute_[0-9a-z]+,code=[^ ]+" "" CMAKE_CUDA_FLAGS
    "${CMAKE_CUDA_FLAGS}")
endif()

# Flags shared by every kernel translation unit.
set(SSMKIT_CUDA_FLAGS
  --expt-relaxed-constexpr  # std::numeric_limits and friends in device code
  -lineinfo                 # source lines in profiles at no run-time cost
)

option(SSMKIT_CUDA_VERBOSE "Print ptxas' register, shared-memory and spill report per kernel" OFF)
if(SSMKIT_CUDA_VERBOSE)
  list(APPEND SSMKIT_CUDA_FLAGS -Xptxas=-v)
endif()

# The shared CUDA runtime: LibTorch loads libcudart.so, and one runtime per process keeps streams
# and contexts shared between Torch and the kernels.
function(ssmkit_configure_cuda_target target)
  set_target_properties(${target} PROPERTIES CUDA_ARCHITECTURES "${SSMKIT_CUDA_ARCHITECTURES}"
    CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON CUDA_RUNTIME_LIBRARY Shared)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${SSMKIT_CUDA_FLAGS}>)
endfunction()

# With nvcc present but a CPU-only Torch, compile the torch-free kernels anyway (no link): a broken
# kernel then fails the CI build although CI has no GPU. A macro, because enable_language() must run
# at file scope; call it from the top-level CMakeLists.txt.
macro(ssmkit_add_kernel_compile_check)
  if(NOT SSMKIT_WITH_CUDA AND NOT SSMKIT_CUDA STREQUAL "OFF")
    file(GLOB_RECURSE _ssmkit_kernels CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/kernels/cuda/*.cu")
    check_language(CUDA)
    if(_ssmkit_kernels AND CMAKE_CUDA_COMPILER)
      enable_language(CUDA)
      add_library(ssmkit_kernels_check OBJECT ${_ssmkit_kernels})
      target_include_directories(ssmkit_kernels_check PRIVATE "${PROJECT_SOURCE_DIR}/kernels/cuda"
        "${PROJECT_SOURCE_DIR}/kernels/common")
      ssmkit_configure_cuda_target(ssmkit_kernels_check)
      message(STATUS "ssmkit: CUDA kernels compile-checked for sm_${SSMKIT_CUDA_ARCHITECTURES} (not linked)")
    elseif(_ssmkit_kernels)
      message(STATUS "ssmkit: nvcc not found, the CUDA kernels are not compile-checked")
    endif()
  endif()
endmacro()
