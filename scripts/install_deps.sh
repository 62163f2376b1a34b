#!/usr/bin/env bash
# Installs every Debian package ssmkit needs to build, test and run. Idempotent: does nothing when
# all are present. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev             # LibTorch 1.13 (CPU)
  libopenblas0-openmp      # fast BLAS: the default reference BLAS is ~15x slower on matmul
  libcxxopts-dev nlohmann-json3-dev libeigen3-dev libspdlog-dev  # spdlog brings libfmt-dev
  libgtest-dev libgmock-dev  # GoogleTest and GoogleMock (ThrowsMessage, HasSubstr)
  libzip-dev zlib1g-dev    # .npz containers
  libyaml-cpp-dev          # YAML config files (Lightning's config.yaml)
  libgloo-dev              # Gloo headers for LibTorch's c10d process groups (data-parallel training)
  libprotobuf-dev protobuf-compiler  # TensorBoard event files
  libplplot-dev plplot-driver-cairo  # PNG plots
  python3-numpy            # interop tests: numpy reads what ssmkit writes
  dataset-fashion-mnist    # real image data for train_vision_mamba
  clang                    # libFuzzer targets
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done"
