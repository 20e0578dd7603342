// spotgrid-probe: what a supplier's card really delivers, measured before it is
// listed (docs/architecture.md#processes). Prints one JSON object: the device, achieved BF16 and
// FP16 matrix throughput (cuBLAS GEMM, FP32 accumulate), device-memory
// bandwidth (device-to-device copies), and a burn-in whose every result is
// checked on the host. Exit codes: 0 measured and the burn-in clean, 1 the
// burn-in found wrong results, 2 bad arguments, 3 no usable GPU or a CUDA
// failure (with the reason).
//
//   spotgrid-probe [--device N] [--gemm-size N] [--burn-seconds S]
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Failure {
  std::string what;
};

void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw Failure{std::string(call) + ": " + cudaGetErrorString(status)};
}

void check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Failure{std::string(call) + ": cuBLAS status " +
                  std::to_string(static_cast<int>(status))};
}

// Milliseconds of GPU time that `work` takes, between two events.
template <typename Work>
float time_ms(Work&& work) {
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  check(cudaEventRecord(start), "cudaEventRecord");
  work();
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms;
}

// Achieved TFLOP/s of an n x n x n GEMM in `type`, accumulating in FP32.
double gemm_tflops(cublasHandle_t blas, cudaDataType_t type, int n) {
  const std::size_t elements = static_cast<std::size_t>(n) * n;
  void* a = nullptr;
  void* b = nullptr;
  void* c = nullptr;
  check(cudaMalloc(&a, elements * 2), "cudaMalloc");
  check(cudaMalloc(&b, elements * 2), "cudaMalloc");
  check(cudaMalloc(&c, elements * 2), "cudaMalloc");
  check(cudaMemset(a, 0x3c, elements * 2), "cudaMemset");  // small finite values in both types
  check(cudaMemset(b, 0x3c, elements * 2), "cudaMemset");
  const float alpha = 1.0f;
  const float beta = 0.0f;
  const auto gemm = [&] {
    check(cublasGemmEx(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, type, n, b, type, n,
                       &beta, c, type, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
  };
  gemm();  // warm-up: kernel selection and clocks
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  constexpr int kRepeats = 20;
  const float ms = time_ms([&] {
    for (int i = 0; i < kRepeats; ++i)
      gemm();
  });
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  const double flops = 2.0 * n * static_cast<double>(n) * n * kRepeats;
  return flops / (static_cast<double>(ms) / 1e3) / 1e12;
}

// Device-memory bandwidth in GB/s: each copy reads and writes every byte.
double copy_bandwidth_gbps(std::size_t bytes) {
  void* from = nullptr;
  void* to = nullptr;
  check(cudaMalloc(&from, bytes), "cudaMalloc");
  check(cudaMalloc(&to, bytes), "cudaMalloc");
  check(cudaMemset(from, 1, bytes), "cudaMemset");
  check(cudaMemcpy(to, from, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy");  // warm-up
  constexpr int kRepeats = 20;
  const float ms = time_ms([&] {
    for (int i = 0; i < kRepeats; ++i)
      check(cudaMemcpy(to, from, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy");
  });
  cudaFree(from);
  cudaFree(to);
  return 2.0 * static_cast<double>(bytes) * kRepeats / (static_cast<double>(ms) / 1e3) / 1e9;
}

// Each element runs an integer recurrence `rounds` times: exact arithmetic, so
// the host can recompute every result and any difference is a fault.
__global__ void burn(unsigned* values, std::size_t count, unsigned rounds) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  unsigned x = values[i];
  for (unsigned r = 0; r < rounds; ++r)
    x = x * 1664525u + 1013904223u;  // LCG, mod 2^32
  values[i] = x;
}

unsigned burn_on_host(unsigned x, unsigned rounds) {
  for (unsigned r = 0; r < rounds; ++r)
    x = x * 1664525u + 1013904223u;
  return x;
}

struct BurnResult {
  double seconds = 0;
  std::size_t passes = 0;
  std::size_t checked = 0;
  std::size_t wrong = 0;
};

BurnResult burn_in(double seconds) {
  constexpr std::size_t kCount = 1 << 24;
  constexpr unsigned kRounds = 4'096;
  std::vector<unsigned> host(kCount);
  unsigned* device = nullptr;
  check(cudaMalloc(&device, kCount * sizeof(unsigned)), "cudaMalloc");
  BurnResult result;
  const auto start = std::chrono::steady_clock::now();
  while (result.passes == 0 ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
             seconds) {
    for (std::size_t i = 0; i < kCount; ++i)
      host[i] = static_cast<unsigned>(i * 2654435761u + result.passes);
    check(cudaMemcpy(device, host.data(), kCount * sizeof(unsigned), cudaMemcpyHostToDevice),
          "cudaMemcpy");
    burn<<<(kCount + 255) / 256, 256>>>(device, kCount, kRounds);
    check(cudaGetLastError(), "burn kernel launch");
    check(cudaMemcpy(host.data(), device, kCount * sizeof(unsigned), cudaMemcpyDeviceToHost),
          "cudaMemcpy");
    // Check a spread of elements each pass (all of them would take the host minutes).
    for (std::size_t i = result.passes % 64; i < kCount; i += 64) {
      const unsigned seed = static_cast<unsigned>(i * 2654435761u + result.passes);
      if (host[i] != burn_on_host(seed, kRounds)) ++result.wrong;
      ++result.checked;
    }
    ++result.passes;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cudaFree(device);
  return result;
}

// A JSON string's content: quotes, backslashes and control characters escaped.
std::string json_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char code[8];
      std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned>(c));
      out += code;
    } else {
      out += c;
    }
  }
  return out;
}

bool parse_int(const char* text, long min, long max, long& out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max) return false;
  out = value;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long device = 0;
  long gemm_size = 8'192;
  long burn_seconds = 10;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    bool ok = has_value;
    if (ok && std::strcmp(argv[i], "--device") == 0) {
      ok = parse_int(argv[++i], 0, 63, device);
    } else if (ok && std::strcmp(argv[i], "--gemm-size") == 0) {
      ok = parse_int(argv[++i], 256, 32'768, gemm_size);
    } else if (ok && std::strcmp(argv[i], "--burn-seconds") == 0) {
      ok = parse_int(argv[++i], 1, 3'600, burn_seconds);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: spotgrid-probe [--device N] [--gemm-size 256..32768] "
                   "[--burn-seconds 1..3600]\n");
      return 2;
    }
  }
  try {
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device >= count) {
      throw Failure{"device " + std::to_string(device) + " does not exist (" +
                    std::to_string(count) + " found)"};
    }
    check(cudaSetDevice(static_cast<int>(device)), "cudaSetDevice");
    cudaDeviceProp properties{};
    check(cudaGetDeviceProperties(&properties, static_cast<int>(device)),
          "cudaGetDeviceProperties");
    cublasHandle_t blas = nullptr;
    check(cublasCreate(&blas), "cublasCreate");
    const double bf16 = gemm_tflops(blas, CUDA_R_16BF, static_cast<int>(gemm_size));
    const double fp16 = gemm_tflops(blas, CUDA_R_16F, static_cast<int>(gemm_size));
    cublasDestroy(blas);
    const double bandwidth = copy_bandwidth_gbps(std::size_t{1} << 30);
    const BurnResult burn = burn_in(static_cast<double>(burn_seconds));
    char uuid[64] = {};
    for (int i = 0; i < 16; ++i)
      std::snprintf(uuid + 2 * i, 3, "%02x", static_cast<unsigned char>(properties.uuid.bytes[i]));
    std::printf(
        "{\"device\":{\"index\":%ld,\"name\":\"%s\",\"uuid\":\"GPU-%s\",\"memory_bytes\":%zu,"
        "\"multiprocessors\":%d,\"compute_capability\":\"%d.%d\"},"
        "\"gemm\":{\"size\":%ld,\"bf16_tflops\":%.1f,\"fp16_tflops\":%.1f},"
        "\"memory_bandwidth_gbps\":%.0f,"
        "\"burn_in\":{\"seconds\":%.1f,\"passes\":%zu,\"checked\":%zu,\"wrong\":%zu,\"ok\":%s}}\n",
        device, json_escaped(properties.name).c_str(), uuid, properties.totalGlobalMem,
        properties.multiProcessorCount, properties.major, properties.minor, gemm_size, bf16, fp16,
        bandwidth, burn.seconds, burn.passes, burn.checked, burn.wrong,
        burn.wrong == 0 ? "true" : "false");
    return burn.wrong == 0 ? 0 : 1;
  } catch (const Failure& failure) {
    std::fprintf(stderr, "spotgrid-probe: no usable GPU: %s\n", failure.what.c_str());
    std::printf("{\"error\":\"%s\"}\n", json_escaped(failure.what).c_str());
    return 3;
  }
}
