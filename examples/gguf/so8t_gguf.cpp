// so8t-gguf: inspect and check GGUF v3 files with so8t's strict reader.
//
//   so8t-gguf info FILE              header, every KV pair and every tensor
//   so8t-gguf validate FILE          exit 0 when the file passes every check (block scales included)
//   so8t-gguf dump FILE TENSOR       the tensor's values, one per line (raw hex for undecodable types)
//
// Exit status: 0 ok, 1 invalid file (the reason and byte offset go to stderr), 2 usage, 3 I/O error,
// 4 no such tensor.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "so8t/gguf/reader.hpp"
#include "so8t/llm/io/cli.hpp"
#include "so8t/base/half.hpp"

#if __has_include(<so8t/quant/quantize.hpp>)
#  include <so8t/quant/quantize.hpp>
#  define SO8T_GGUF_CLI_HAS_DEQUANTIZE 1
#else
#  define SO8T_GGUF_CLI_HAS_DEQUANTIZE 0
#endif

namespace {

using so8t::gguf::Reader;

/// Keys and strings longer than max_string bytes are cut (0: printed whole).
int info(const Reader& r, const char* path, std::size_t max_string) {
  std::printf("file: %s\nsize: %zu bytes\nversion: %u\nalignment: %llu\ndata offset: %llu\n", path, r.file_size(),
              r.version(), static_cast<unsigned long long>(r.alignment()),
              static_cast<unsigned long long>(r.data_offset()));
  std::printf("metadata: %zu\n", r.metadata().size());
  for (const auto& e : r.metadata()) {
    // keys are [A-Za-z0-9_.-] (the reader checks) but may be 65535 bytes long
    const std::string key = max_string > 0 && e.key.size() > max_string
                                ? e.key.substr(0, max_string) + "... (" + std::to_string(e.key.size()) + " bytes)"
                                : e.key;
    std::printf("  %s: %s = %s\n", key.c_str(), e.value.is_array() ? "ARRAY" : so8t::gguf::value_type_name(e.value.type()),
                e.value.to_display(8, max_string).c_str());
  }
  std::printf("tensors: %zu\n", r.tensors().size());
  for (const auto& t : r.tensors())
    std::printf("  %-40s %-5s %-22s offset %llu, %llu bytes\n", t.name.c_str(), so8t::quant::type_name(t.type),
                t.shape_string().c_str(), static_cast<unsigned long long>(t.offset),
                static_cast<unsigned long long>(t.nbytes));
  return 0;
}

int dump(const Reader& r, const std::string& name) {
  const so8t::gguf::TensorInfo* t = r.find_tensor(name);
  if (!t) {
    std::fprintf(stderr, "so8t-gguf: no tensor '%s'\n", name.c_str());
    return 4;
  }
  const auto v = r.tensor(name);
  const auto n = static_cast<std::size_t>(t->element_count());
  using so8t::quant::Type;
  if (t->type == Type::f32 || t->type == Type::f16 || t->type == Type::bf16) {
    for (std::size_t i = 0; i < n; ++i) {
      float x;
      if (t->type == Type::f32) {
        std::memcpy(&x, v.data + 4 * i, 4);
      } else {
        std::uint16_t h;
        std::memcpy(&h, v.data + 2 * i, 2);
        x = t->type == Type::f16 ? so8t::fp16_bits_to_fp32(h) : so8t::bf16_bits_to_fp32(h);
      }
      std::printf("%.9g\n", static_cast<double>(x));
    }
    return 0;
  }
#if SO8T_GGUF_CLI_HAS_DEQUANTIZE
  std::vector<float> out(n);
  so8t::quant::dequantize(t->type, v.data, out.data(), t->row_count(), t->ne[0]);
  for (float x : out) std::printf("%.9g\n", static_cast<double>(x));
#else
  // No dequantizer in this build: one line of hex per block.
  const std::size_t block = so8t::quant::type_size(t->type);
  for (std::size_t off = 0; off < v.size; off += block) {
    for (std::size_t k = 0; k < block; ++k) std::printf("%02x", v.data[off + k]);
    std::printf("\n");
  }
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = so8t::llm::cli;
  CLI::App app("Inspect and check GGUF v3 files with so8t's strict reader. Exit status: 0 ok, 1 invalid file, "
               "2 usage, 3 I/O error, 4 no such tensor.",
               "so8t-gguf");
  cli::setup(app);
  app.require_subcommand(1);
  std::string path, tensor;
  CLI::App* info_cmd = app.add_subcommand("info", "header, every KV pair and every tensor");
  info_cmd->add_option("FILE", path, "GGUF file")->required();
  std::size_t max_string = 256;
  info_cmd->add_option("--max-string", max_string, "cut keys and strings after this many bytes (0: print them whole)")
      ->capture_default_str();
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "exit 0 when the file passes every check (block scales included)");
  validate_cmd->add_option("FILE", path, "GGUF file")->required();
  CLI::App* dump_cmd =
      app.add_subcommand("dump", "the tensor's values, one per line (raw hex for undecodable types)");
  dump_cmd->add_option("FILE", path, "GGUF file")->required();
  dump_cmd->add_option("TENSOR", tensor, "tensor name")->required();
  // CLI11 would call an unknown word "A subcommand is required"; name it instead.
  if (argc >= 2 && argv[1][0] != '-' && !info_cmd->check_name(argv[1]) && !validate_cmd->check_name(argv[1]) &&
      !dump_cmd->check_name(argv[1])) {
    std::fprintf(stderr, "so8t-gguf: unknown subcommand '%s' (info, validate, dump; see so8t-gguf --help)\n", argv[1]);
    return cli::kExitUsage;
  }
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  so8t::gguf::report_bus_error_on_mapped_files();  // a file truncated while mapped: one line, exit 1
  // Exit codes of their own (1, 3, 4) rather than cli::run's 1 for every failure.
  try {
    so8t::gguf::ReadOptions options;
    options.check_scales = validate_cmd->parsed();
    const Reader r = Reader::open(path, options);
    if (info_cmd->parsed()) return info(r, path.c_str(), max_string);
    if (dump_cmd->parsed()) return dump(r, tensor);
    std::printf("%s: valid GGUF v%u, %zu key-value pairs, %zu tensors\n", path.c_str(), r.version(),
                r.metadata().size(), r.tensors().size());
    return 0;
  } catch (const so8t::gguf::FormatError& e) {
    std::fprintf(stderr, "%s: invalid: %s\n", path.c_str(), e.what());
    return 1;
  } catch (const so8t::gguf::IoError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "so8t-gguf: %s\n", e.what());
    return 3;
  }
}
