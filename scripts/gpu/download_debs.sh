#!/usr/bin/env bash
# Downloads (no install) the Debian packages that a GPU machine without system packages needs to
# build ssmkit next to the PyTorch wheel: header libraries, spdlog/fmt, GoogleTest, libzip, zlib, yaml-cpp.
# Into <repo>/.debs (git-ignored) or $1; scripts/gpu/build_and_test.sh unpacks them there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-$root/.debs}"
mkdir -p "$dest"
cd "$dest"
apt-get download libcxxopts-dev nlohmann-json3-dev libeigen3-dev libspdlog-dev libfmt-dev \
  libgtest-dev libgmock-dev libspdlog1.10 libfmt9 libzip-dev libzip4 zlib1g-dev \
  libyaml-cpp-dev libyaml-cpp0.7
ls -1 "$dest"
