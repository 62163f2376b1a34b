# Finds every dependency. All of them come from Debian packages (scripts/install_deps.sh), or, on
# the GPU machine, from the PyTorch wheel plus Debian header packages unpacked into a prefix.

# What the torch-free I/O library needs; a fuzz-only build stops here.
find_package(nlohmann_json 3.9 REQUIRED)
find_package(ZLIB REQUIRED)
# libzip holds the zip container of .npz files. Found through pkg-config: Debian's libzip CMake
# config references tools (zipcmp, ...) that the -dev package does not install, and fails.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
set(SSMKIT_ZIP_TARGET PkgConfig::LIBZIP)
if(SSMKIT_FUZZ_ONLY)
  return()
endif()

find_package(Torch REQUIRED)
find_package(spdlog REQUIRED)
find_package(cxxopts REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(Threads REQUIRED)

set(SSMKIT_OPTIONAL_LIBS "")
set(SSMKIT_PUBLIC_DEFINITIONS "")

# TensorBoard event files need protobuf; optional so that a machine without it still builds.
set(SSMKIT_WITH_TENSORBOARD OFF)
find_package(Protobuf QUIET)
if(Protobuf_FOUND AND Protobuf_PROTOC_EXECUTABLE)
  set(SSMKIT_WITH_TENSORBOARD ON)
  list(APPEND SSMKIT_PUBLIC_DEFINITIONS SSMKIT_WITH_TENSORBOARD=1)
endif()

# PNG plots through PLplot's cairo driver; optional (the GPU machine has no PLplot).
set(SSMKIT_WITH_PLOTS OFF)
pkg_check_modules(PLPLOT QUIET IMPORTED_TARGET plplot-c++)
if(PLPLOT_FOUND)
  set(SSMKIT_WITH_PLOTS ON)
  list(APPEND SSMKIT_OPTIONAL_LIBS PkgConfig::PLPLOT)
  list(APPEND SSMKIT_PUBLIC_DEFINITIONS SSMKIT_WITH_PLOTS=1)
endif()

# The PyTorch wheel ships fmt 11 headers in its include folder; the spdlog we link (Debian 1.10) is
# built against fmt 9. Put spdlog's and fmt's include folders ahead of Torch's on every target that
# sees both, so <fmt/...> resolves to the fmt that libspdlog was built with. A no-op when Torch and
# spdlog share an include folder (Debian's LibTorch).
function(ssmkit_put_fmt_first target)
  set(_torch_has_fmt OFF)
  foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
    if(EXISTS "${_dir}/fmt/core.h")
      set(_torch_has_fmt ON)
      set(_torch_fmt_dir "${_dir}")
    endif()
  endforeach()
  if(NOT _torch_has_fmt)
    return()
  endif()
  set(_first "")
  foreach(_dep spdlog::spdlog fmt::fmt)
    if(TARGET ${_dep})
      get_target_property(_inc ${_dep} INTERFACE_INCLUDE_DIRECTORIES)
      if(_inc)
        foreach(_d IN LISTS _inc)
          if(NOT _d STREQUAL _torch_fmt_dir AND NOT _d STREQUAL "/usr/include")
            list(APPEND _first "${_d}")
          endif()
        endforeach()
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES _first)
  if(_first)
    target_include_directories(${target} BEFORE SYSTEM PUBLIC ${_first})
  endif()
endfunction()
