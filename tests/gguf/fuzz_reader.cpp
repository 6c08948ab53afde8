// libFuzzer harness for so8t::gguf::Reader (calibration-pet-pipeline.md §5.4 "a fuzz harness over
// read_from_buffer(ptr, size)"). Build: clang++ -fsanitize=fuzzer,address,undefined (see ci.sh).
//
// Every input must either parse or raise FormatError; ASan/UBSan turn any out-of-bounds read, overflow or
// leak into a crash. A file that parses is also touched byte by byte and re-written with the Writer, which
// must accept it and produce a file that parses to the same content (the writer refuses exactly what the
// reader rejects).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "so8t/gguf/reader.hpp"
#include "so8t/gguf/writer.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void round_trip(const so8t::gguf::Reader& r) {
  std::vector<std::uint8_t> out;
  so8t::gguf::Writer w(&out);
  for (const auto& e : r.metadata()) w.add_metadata(e.key, e.value);
  for (const auto& t : r.tensors())
    w.add_tensor(t.name, t.type, std::vector<std::int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims));
  for (std::size_t i = 0; i < r.tensors().size(); ++i) {
    const auto v = r.tensor(i);
    w.write_tensor(r.tensors()[i].name, v.data, v.size);
  }
  w.finish();
  const auto again = so8t::gguf::Reader::from_memory(out.data(), out.size());
  check(again.metadata().size() == r.metadata().size());
  for (std::size_t i = 0; i < r.metadata().size(); ++i) {
    check(again.metadata().entries()[i].key == r.metadata().entries()[i].key);
    check(again.metadata().entries()[i].value == r.metadata().entries()[i].value);
  }
  check(again.tensors().size() == r.tensors().size());
  for (std::size_t i = 0; i < r.tensors().size(); ++i) {
    const auto a = again.tensor(i), b = r.tensor(i);
    check(a.info->name == b.info->name && a.info->type == b.info->type && a.info->ne == b.info->ne);
    check(a.size == b.size && (a.size == 0 || std::memcmp(a.data, b.data, a.size) == 0));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  so8t::gguf::ReadOptions options;
  options.check_scales = size > 0 && (data[size - 1] & 1);  // exercise both paths
  try {
    const auto r = so8t::gguf::Reader::from_memory(data, size, options);
    unsigned sum = 0;
    for (std::size_t i = 0; i < r.tensors().size(); ++i) {
      const auto v = r.tensor(i);
      for (std::size_t k = 0; k < v.size; ++k) sum += v.data[k];
    }
    for (const auto& e : r.metadata()) sum += static_cast<unsigned>(e.value.to_display().size());
    if (sum == 0xFFFFFFFFu) std::abort();  // keeps the loop from being optimized away
    round_trip(r);
  } catch (const so8t::gguf::FormatError&) {
  }
  return 0;
}
