// numpy's .npz archives: a zip of .npy members, as np.savez (stored) and np.savez_compressed
// (deflated) write them. Member "name.npy" holds the array called "name".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ssmkit/io/nd_array.h"

namespace ssmkit::io {

// Named arrays in insertion order.
class Npz {
 public:
  // Adds (or replaces) the array called `name`.
  void set(const std::string& name, NpyArray array);

  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t size() const { return entries_.size(); }

  // The array called `name`; throws InputError naming the archive (`origin()`) and the member when
  // it is absent or holds the other kind of data.
  const NpyArray& get(const std::string& name) const;
  const NdArray& array(const std::string& name) const;
  const StringArray& strings(const std::string& name) const;

  // Where the archive came from, for messages ("" when built in memory).
  const std::string& origin() const { return origin_; }
  void set_origin(std::string origin) { origin_ = std::move(origin); }

  const std::vector<std::pair<std::string, NpyArray>>& entries() const { return entries_; }

 private:
  std::string origin_;
  std::vector<std::pair<std::string, NpyArray>> entries_;
};

enum class NpzCompression { stored, deflated };

// Parses the bytes of a .npz file. Throws InputError naming `origin` and the member for a file that
// is not a zip archive, a corrupt or encrypted member, duplicate names, and any .npy error.
Npz decode_npz(std::string_view bytes, const std::string& origin);

// decode_npz() on the contents of `path`.
Npz read_npz(const std::string& path);

// Writes `npz` to `path` atomically: stored like np.savez, or deflated like np.savez_compressed.
void write_npz(const std::string& path, const Npz& npz,
               NpzCompression compression = NpzCompression::stored);

}  // namespace ssmkit::io
