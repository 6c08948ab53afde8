// so8t/offload/planner.hpp: the device-map planner for CPU offload (docs/int8-gemm-and-offload.md
// §1.3, accelerate's infer_auto_device_map simplified to one GPU).
//
// Input: the layers in execution order (name, bytes of weights as stored on the GPU, bytes of workspace,
// bytes when kept in fp32 on the CPU), a GPU budget (bytes, or a fraction of the free memory), a CPU
// budget and the skip list. Layers are assigned to the GPU in order while
//     gpu_used + gpu_bytes(layer) <= gpu_budget - reserve,
// where reserve = the largest workspace of any layer (plus, under the stream policy, the largest
// CPU-side weight, so an offloaded layer can be brought over to run). The first layer that does not fit
// (a budget that falls mid-layer never splits it) and every later one go to the CPU (like accelerate,
// the planner never returns to the GPU), where they count at their fp32 size. A layer that fits on
// neither device raises DoesNotFit naming the layer, its size and both budgets.
// Skip-list layers stay in floating point: they are counted at their fp32 size wherever they go.
// No GPU (gpu.present == false): every layer goes to the CPU and the plan says so once (note()).
#pragma once

#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gemm/llm_int8.hpp"

namespace so8t::offload {

enum class Device { cuda, cpu };
inline const char* device_name(Device d) { return d == Device::cuda ? "cuda" : "cpu"; }

/// What CPU-mapped layers do at run time: compute in fp32 on the CPU, or copy their weights to the GPU
/// for each call and compute there (HF accelerate's behaviour).
enum class OffloadPolicy { cpu_compute, stream_to_gpu };

/// One layer, in execution order.
struct LayerSpec {
  std::string name;
  std::uint64_t weight_bytes = 0;     ///< as stored on the GPU (int8 codes + scales for int8 layers)
  std::uint64_t workspace_bytes = 0;  ///< activations / scratch needed while it runs
  std::uint64_t fp32_bytes = 0;       ///< weight bytes kept in fp32 (CPU, skip list); 0: same as weight_bytes
  std::uint64_t fp_bytes() const { return fp32_bytes != 0 ? fp32_bytes : weight_bytes; }
};

/// GPU budget: absolute bytes, or a fraction of the free memory reported by the device.
struct GpuBudget {
  bool is_fraction = false;
  std::uint64_t bytes_ = 0;
  double fraction_ = 0.0;
  static GpuBudget bytes(std::uint64_t b) { return GpuBudget{false, b, 0.0}; }
  /// accelerate's default for a single GPU with 8-bit weights is 0.9 * 0.9 = 0.81 of the free memory.
  static GpuBudget fraction_of_free(double f) {
    if (!(f > 0.0 && f <= 1.0))
      throw InvalidArgument("so8t::offload::GpuBudget::fraction_of_free: fraction " + std::to_string(f) +
                            " is not in (0, 1]");
    return GpuBudget{true, 0, f};
  }
  std::uint64_t resolve(std::uint64_t free_bytes) const {
    return is_fraction ? static_cast<std::uint64_t>(fraction_ * static_cast<double>(free_bytes)) : bytes_;
  }
};

/// The GPU as the planner sees it (the CUDA side fills it from cudaMemGetInfo; none on CPU-only hosts).
struct GpuInfo {
  bool present = false;
  std::uint64_t free_bytes = 0, total_bytes = 0;
};

struct PlanOptions {
  GpuInfo gpu{};
  GpuBudget gpu_budget = GpuBudget::fraction_of_free(0.81);
  std::uint64_t cpu_budget = 0;
  std::vector<std::string> skip_modules{};
  OffloadPolicy policy = OffloadPolicy::cpu_compute;
};

/// A layer does not fit on any device.
class DoesNotFit : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

struct Placement {
  std::string name;
  Device device = Device::cpu;
  bool quantized = true;  ///< int8 on the GPU; false for skip-list layers and every CPU layer (fp32)
  std::uint64_t bytes = 0;
  std::uint64_t workspace = 0;
};

class DeviceMap {
 public:
  std::vector<Placement> layers;
  std::uint64_t gpu_budget = 0, gpu_reserve = 0, gpu_used = 0, cpu_budget = 0, cpu_used = 0;
  bool gpu_present = false;
  OffloadPolicy policy = OffloadPolicy::cpu_compute;

  std::size_t count(Device d) const {
    std::size_t c = 0;
    for (const auto& p : layers) c += p.device == d;
    return c;
  }
  Device device_of(const std::string& name) const {
    for (const auto& p : layers)
      if (p.name == name) return p.device;
    throw InvalidArgument("so8t::offload::DeviceMap: no layer named '" + name + "'");
  }
  /// One line about the whole plan ("no GPU: ..." on CPU-only hosts).
  std::string note() const {
    if (!gpu_present) return "so8t offload: no CUDA device found; all " + std::to_string(layers.size()) + " layers run in fp32 on the CPU";
    return "so8t offload: " + std::to_string(count(Device::cuda)) + " layers on cuda, " +
           std::to_string(count(Device::cpu)) + " on cpu (" +
           (policy == OffloadPolicy::cpu_compute ? "computed in fp32 on the CPU" : "streamed to the GPU per call") + ")";
  }
  /// Printable table: layer, device, dtype, bytes, workspace, running totals per device.
  std::string table() const {
    std::ostringstream os;
    os << std::left << std::setw(32) << "layer" << std::setw(6) << "dev" << std::setw(6) << "dtype" << std::right
       << std::setw(14) << "weight bytes" << std::setw(14) << "workspace" << std::setw(16) << "device total" << "\n";
    std::uint64_t g = 0, c = 0;
    for (const auto& p : layers) {
      std::uint64_t& t = p.device == Device::cuda ? g : c;
      t += p.bytes;
      os << std::left << std::setw(32) << p.name << std::setw(6) << device_name(p.device) << std::setw(6)
         << (p.quantized ? "int8" : "fp32") << std::right << std::setw(14) << p.bytes << std::setw(14) << p.workspace
         << std::setw(16) << t << "\n";
    }
    os << "cuda: " << gpu_used << " used of budget " << gpu_budget << " (reserve " << gpu_reserve << ")"
       << (gpu_present ? "" : " [no GPU]") << "; cpu: " << cpu_used << " used of budget " << cpu_budget << "\n";
    return os.str();
  }
};

inline std::ostream& operator<<(std::ostream& os, const DeviceMap& m) { return os << m.table(); }

/// Prints `line` to stderr the first time only (per process).
inline void say_once(const std::string& line) {
  static bool said = false;
  if (!said) {
    said = true;
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

/// Plans the device map (see top of file).
inline DeviceMap plan_device_map(const std::vector<LayerSpec>& layers, const PlanOptions& opt) {
  DeviceMap map;
  map.gpu_present = opt.gpu.present;
  map.policy = opt.policy;
  map.cpu_budget = opt.cpu_budget;
  map.gpu_budget = opt.gpu.present ? opt.gpu_budget.resolve(opt.gpu.free_bytes) : 0;
  std::uint64_t reserve = 0;
  for (const auto& l : layers) {
    std::uint64_t r = l.workspace_bytes;
    if (opt.policy == OffloadPolicy::stream_to_gpu) r += l.fp_bytes();
    reserve = r > reserve ? r : reserve;
  }
  map.gpu_reserve = opt.gpu.present ? reserve : 0;
  const std::uint64_t gpu_room = map.gpu_budget > map.gpu_reserve ? map.gpu_budget - map.gpu_reserve : 0;
  bool gpu_open = opt.gpu.present;
  for (const auto& l : layers) {
    const bool skipped = gemm::is_skipped(l.name, opt.skip_modules);
    Placement p;
    p.name = l.name;
    p.workspace = l.workspace_bytes;
    const std::uint64_t gbytes = skipped ? l.fp_bytes() : l.weight_bytes;
    if (gpu_open && map.gpu_used + gbytes <= gpu_room) {
      p.device = Device::cuda;
      p.quantized = !skipped;
      p.bytes = gbytes;
      map.gpu_used += gbytes;
    } else {
      gpu_open = false;
      p.device = Device::cpu;
      p.quantized = false;
      p.bytes = l.fp_bytes();
      if (map.cpu_used + p.bytes > opt.cpu_budget) {
        std::ostringstream os;
        os << "so8t::offload::plan_device_map: layer '" << l.name << "' (" << l.weight_bytes << " bytes on the GPU, "
           << p.bytes << " bytes in fp32, workspace " << l.workspace_bytes << ") fits nowhere: GPU budget "
           << map.gpu_budget << " bytes (" << map.gpu_used << " used, reserve " << map.gpu_reserve << "), CPU budget "
           << opt.cpu_budget << " bytes (" << map.cpu_used << " used)" << (opt.gpu.present ? "" : "; no GPU present");
        throw DoesNotFit(os.str());
      }
      map.cpu_used += p.bytes;
    }
    map.layers.push_back(p);
  }
  if (!opt.gpu.present) say_once(map.note());
  return map;
}

}  // namespace so8t::offload
