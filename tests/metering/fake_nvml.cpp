// A stand-in libnvidia-ml for tests on machines without a GPU: the same C
// symbols, two cards. Card 0 works and raises XID 79 once; card 1 has fallen
// off the bus (GPU is lost) for utilization; ECC is not supported.
#include <cstdio>
#include <cstring>

namespace {
struct FakeDevice {
  int index;
};
FakeDevice devices[2] = {{0}, {1}};
unsigned long long energy[2] = {1'000'000, 5'000'000};
bool xid_sent = false;
constexpr int kSuccess = 0;
constexpr int kNotSupported = 3;
constexpr int kTimeout = 10;
constexpr int kGpuIsLost = 15;
struct EventData {
  FakeDevice* device;
  unsigned long long eventType;
  unsigned long long eventData;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};
struct Utilization {
  unsigned int gpu;
  unsigned int memory;
};
struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
int event_set_token = 0;
}  // namespace

extern "C" {
int nvmlInit_v2() {
  return kSuccess;
}
int nvmlShutdown() {
  return kSuccess;
}
const char* nvmlErrorString(int r) {
  switch (r) {
    case kSuccess:
      return "Success";
    case kNotSupported:
      return "Not Supported";
    case kTimeout:
      return "Timeout";
    case kGpuIsLost:
      return "GPU is lost";
    default:
      return "Unknown Error";
  }
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, FakeDevice** device) {
  if (index >= 2) return 2;
  *device = &devices[index];
  return kSuccess;
}
int nvmlDeviceGetUUID(FakeDevice* device, char* uuid, unsigned int length) {
  std::snprintf(uuid, length, "GPU-fake-%d", device->index);
  return kSuccess;
}
int nvmlDeviceGetUtilizationRates(FakeDevice* device, Utilization* rates) {
  if (device->index == 1) return kGpuIsLost;
  rates->gpu = 75;
  rates->memory = 40;
  return kSuccess;
}
int nvmlDeviceGetMemoryInfo(FakeDevice*, Memory* memory) {
  memory->total = 80ULL << 30;
  memory->used = 20ULL << 30;
  memory->free = memory->total - memory->used;
  return kSuccess;
}
int nvmlDeviceGetPowerUsage(FakeDevice*, unsigned int* mw) {
  *mw = 250'000;
  return kSuccess;
}
int nvmlDeviceGetTotalEnergyConsumption(FakeDevice* device, unsigned long long* mj) {
  energy[device->index] += 250'000;
  *mj = energy[device->index];
  return kSuccess;
}
int nvmlDeviceGetTemperature(FakeDevice*, unsigned, unsigned int* celsius) {
  *celsius = 61;
  return kSuccess;
}
int nvmlDeviceGetTotalEccErrors(FakeDevice*, unsigned, unsigned, unsigned long long*) {
  return kNotSupported;
}
int nvmlEventSetCreate(int** set) {
  *set = &event_set_token;
  return kSuccess;
}
int nvmlDeviceRegisterEvents(FakeDevice*, unsigned long long, int*) {
  return kSuccess;
}
int nvmlEventSetWait_v2(int*, EventData* data, unsigned int) {
  if (xid_sent) return kTimeout;
  xid_sent = true;
  std::memset(data, 0, sizeof *data);
  data->device = &devices[0];
  data->eventType = 0x8;
  data->eventData = 79;
  return kSuccess;
}
int nvmlEventSetFree(int*) {
  return kSuccess;
}
}
