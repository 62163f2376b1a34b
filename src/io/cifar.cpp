// CIFAR-10/100 binary readers.
#include "ssmkit/io/cifar.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "ssmkit/io/error.h"
#include "ssmkit/io/file_bytes.h"

namespace ssmkit::io {
namespace {

constexpr int64_t kCifar10Classes = 10;
constexpr int64_t kCifar100FineClasses = 100;
constexpr int64_t kCifar100CoarseClasses = 20;
constexpr int kCifar10TrainBatches = 5;

struct RecordLayout {
  const char* name;
  int64_t record_size;
  bool has_coarse;  // CIFAR-100: coarse label before the fine label
};
constexpr RecordLayout kCifar10 = {"CIFAR-10", kCifar10RecordSize, false};
constexpr RecordLayout kCifar100 = {"CIFAR-100", kCifar100RecordSize, true};

std::string layout_text(const RecordLayout& layout) {
  return layout.has_coarse ? "<coarse label><fine label><3072 pixels>" : "<label><3072 pixels>";
}

void check_label(int64_t label, int64_t classes, const char* what, int64_t record, int64_t offset,
                 const std::string& origin) {
  if (label >= classes) {
    throw InputError(origin + " record " + std::to_string(record) + " (byte offset " +
                     std::to_string(offset) + "): " + what + " " + std::to_string(label) +
                     ", expected 0.." + std::to_string(classes - 1));
  }
}

// Appends the records of `bytes` to the vectors.
void decode_records(std::string_view bytes, const std::string& origin, const RecordLayout& layout,
                    std::vector<uint8_t>& pixels, std::vector<int64_t>& labels,
                    std::vector<int64_t>& coarse) {
  const auto size = static_cast<int64_t>(bytes.size());
  if (size == 0) {
    throw InputError(origin + ": empty file, expected " + layout.name + " records " +
                     layout_text(layout));
  }
  if (size % layout.record_size != 0) {
    throw InputError(origin + ": " + std::to_string(size) + " bytes is not a whole number of " +
                     std::to_string(layout.record_size) + "-byte " + layout.name + " records " +
                     layout_text(layout) + "; record " + std::to_string(size / layout.record_size) +
                     " is truncated");
  }
  const int64_t count = size / layout.record_size;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t first_pixel = pixels.size();
  pixels.resize(first_pixel + static_cast<size_t>(count * kCifarPixels));
  for (int64_t r = 0; r < count; ++r) {
    const int64_t offset = r * layout.record_size;
    const unsigned char* record = data + offset;
    if (layout.has_coarse) {
      check_label(record[0], kCifar100CoarseClasses, "coarse label", r, offset, origin);
      check_label(record[1], kCifar100FineClasses, "fine label", r, offset + 1, origin);
      coarse.push_back(record[0]);
      labels.push_back(record[1]);
    } else {
      check_label(record[0], kCifar10Classes, "label", r, offset, origin);
      labels.push_back(record[0]);
    }
    const int64_t label_bytes = layout.record_size - kCifarPixels;
    std::memcpy(pixels.data() + first_pixel + static_cast<size_t>(r * kCifarPixels),
                record + label_bytes, static_cast<size_t>(kCifarPixels));
  }
}

LabelledImages make_split(const std::vector<uint8_t>& pixels, const std::vector<int64_t>& labels,
                          const std::vector<int64_t>& coarse, int64_t classes) {
  const auto n = static_cast<int64_t>(labels.size());
  LabelledImages out;
  out.images = NdArray::from_values<uint8_t>({n, kCifarChannels, kCifarSide, kCifarSide}, pixels);
  out.labels = NdArray::from_values<int64_t>({n}, labels);
  out.coarse_labels = NdArray::from_values<int64_t>({static_cast<int64_t>(coarse.size())}, coarse);
  out.num_classes = classes;
  return out;
}

LabelledImages decode(std::string_view bytes, const std::string& origin, const RecordLayout& layout,
                      int64_t classes) {
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels, coarse;
  decode_records(bytes, origin, layout, pixels, labels, coarse);
  return make_split(pixels, labels, coarse, classes);
}

// `folder`, or its `subfolder` when the files are there.
std::string data_folder(const std::string& folder, const std::string& subfolder,
                        const std::string& probe) {
  const std::filesystem::path nested = std::filesystem::path(folder) / subfolder;
  if (!std::filesystem::exists(std::filesystem::path(folder) / probe) &&
      std::filesystem::exists(nested / probe)) {
    return nested.string();
  }
  return folder;
}

LabelledImages load_files(const std::string& folder, const std::vector<std::string>& names,
                          const RecordLayout& layout, int64_t classes) {
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels, coarse;
  for (const std::string& name : names) {
    const std::string path = (std::filesystem::path(folder) / name).string();
    if (!std::filesystem::exists(path)) {
      throw InputError(path + ": missing " + layout.name + " batch file");
    }
    decode_records(read_file_bytes(path), path, layout, pixels, labels, coarse);
  }
  return make_split(pixels, labels, coarse, classes);
}

}  // namespace

LabelledImages decode_cifar10(std::string_view bytes, const std::string& origin) {
  return decode(bytes, origin, kCifar10, kCifar10Classes);
}

LabelledImages decode_cifar100(std::string_view bytes, const std::string& origin) {
  return decode(bytes, origin, kCifar100, kCifar100FineClasses);
}

LabelledImages load_cifar10_split(const std::string& folder, DatasetSplit split) {
  std::vector<std::string> names;
  if (split == DatasetSplit::train) {
    for (int b = 1; b <= kCifar10TrainBatches; ++b) {
      names.push_back("data_batch_" + std::to_string(b) + ".bin");
    }
  } else {
    names.push_back("test_batch.bin");
  }
  return load_files(data_folder(folder, "cifar-10-batches-bin", names.front()), names, kCifar10,
                    kCifar10Classes);
}

LabelledImages load_cifar100_split(const std::string& folder, DatasetSplit split) {
  const std::string name = split == DatasetSplit::train ? "train.bin" : "test.bin";
  return load_files(data_folder(folder, "cifar-100-binary", name), {name}, kCifar100,
                    kCifar100FineClasses);
}

}  // namespace ssmkit::io
