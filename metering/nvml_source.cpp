// NVML loaded at run time: dlopen the driver's library and dlsym the versioned
// symbols. Required: init, shutdown, error string, count, handle, UUID. The
// rest are optional: a driver without one (or a card that does not support it)
// still gives what it can, and the reading says what was missing.
#include <dlfcn.h>

#include <array>

#include "nvml.hpp"
#include "spotgrid/metering/card_source.hpp"

namespace spotgrid::metering {

namespace {

template <typename Function>
bool bind(void* library, const char* symbol, Function& out) {
  out = reinterpret_cast<Function>(dlsym(library, symbol));  // NOLINT: dlsym gives void*
  return out != nullptr;
}

class NvmlSource : public CardSource {
 public:
  NvmlSource(void* library, const nvml::Api& api) : library_(library), api_(api) {
    if (api_.event_set_create != nullptr && api_.event_set_create(&events_) != nvml::kSuccess)
      events_ = nullptr;
  }
  ~NvmlSource() override {
    if (events_ != nullptr && api_.event_set_free != nullptr) api_.event_set_free(events_);
    api_.shutdown();
    dlclose(library_);
  }
  NvmlSource(const NvmlSource&) = delete;
  NvmlSource& operator=(const NvmlSource&) = delete;

  std::string_view name() const override { return "nvml"; }

  std::vector<CardReading> read() override {
    std::vector<CardReading> readings;
    unsigned int count = 0;
    if (const nvml::Return r = api_.device_count(&count); r != nvml::kSuccess) {
      CardReading failed;
      failed.present = false;
      failed.error = std::string("nvmlDeviceGetCount_v2: ") + api_.error_string(r);
      readings.push_back(std::move(failed));
      return readings;
    }
    std::vector<nvml::Device> devices(count, nullptr);
    for (unsigned int i = 0; i < count; ++i)
      readings.push_back(read_card(i, devices[i]));
    collect_xids(devices, readings);
    return readings;
  }

 private:
  // Appends "call: reason" to the reading's error when `r` is a failure.
  bool ok(CardReading& reading, const char* call, nvml::Return r) const {
    if (r == nvml::kSuccess) return true;
    if (r == nvml::kErrorGpuIsLost) reading.present = false;
    if (!reading.error.empty()) reading.error += "; ";
    reading.error += call;
    reading.error += ": ";
    reading.error += api_.error_string(r);
    return false;
  }

  CardReading read_card(unsigned int index, nvml::Device& device) {
    CardReading reading;
    reading.index = index;
    if (!ok(reading, "nvmlDeviceGetHandleByIndex_v2", api_.device_by_index(index, &device))) {
      reading.present = false;
      return reading;
    }
    std::array<char, nvml::kUuidBufferSize> uuid{};
    if (ok(reading, "nvmlDeviceGetUUID", api_.uuid(device, uuid.data(), uuid.size())))
      reading.uuid = uuid.data();
    if (api_.utilization != nullptr) {
      nvml::Utilization rates{};
      if (ok(reading, "nvmlDeviceGetUtilizationRates", api_.utilization(device, &rates)))
        reading.utilization_pct = rates.gpu;
    }
    if (api_.memory != nullptr) {
      nvml::Memory memory{};
      if (ok(reading, "nvmlDeviceGetMemoryInfo", api_.memory(device, &memory))) {
        reading.memory_used_bytes = memory.used;
        reading.memory_total_bytes = memory.total;
      }
    }
    if (api_.power != nullptr)
      ok(reading, "nvmlDeviceGetPowerUsage", api_.power(device, &reading.power_mw));
    if (api_.energy != nullptr) {
      unsigned long long energy = 0;
      if (ok(reading, "nvmlDeviceGetTotalEnergyConsumption", api_.energy(device, &energy)))
        reading.energy_mj = energy;
    }
    if (api_.temperature != nullptr) {
      ok(reading, "nvmlDeviceGetTemperature",
         api_.temperature(device, nvml::kTemperatureGpu, &reading.temperature_c));
    }
    if (api_.ecc_total != nullptr) {
      unsigned long long ecc = 0;
      const nvml::Return r =
          api_.ecc_total(device, nvml::kMemoryErrorUncorrected, nvml::kAggregateEcc, &ecc);
      if (r == nvml::kSuccess) reading.ecc_uncorrected = ecc;
      if (r != nvml::kErrorNotSupported) ok(reading, "nvmlDeviceGetTotalEccErrors", r);
    }
    if (events_ != nullptr && registered_.size() <= index) {
      registered_.resize(index + 1, false);
      registered_[index] =
          api_.register_events(device, nvml::kEventXidCritical, events_) == nvml::kSuccess;
    }
    return reading;
  }

  // XIDs that arrived since the last read, without waiting.
  void collect_xids(const std::vector<nvml::Device>& devices, std::vector<CardReading>& readings) {
    if (events_ == nullptr) return;
    for (int drained = 0; drained < 256; ++drained) {
      nvml::EventData event{};
      if (api_.event_set_wait(events_, &event, 0) != nvml::kSuccess) return;
      if (event.eventType != nvml::kEventXidCritical) continue;
      for (std::size_t i = 0; i < devices.size(); ++i) {
        if (devices[i] == event.device) readings[i].xids.push_back(event.eventData);
      }
    }
  }

  void* library_;
  nvml::Api api_;
  nvml::EventSet events_ = nullptr;
  std::vector<bool> registered_;
};

}  // namespace

std::unique_ptr<CardSource> open_nvml(std::string& problem, const char* library_name) {
  void* library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    problem =
        std::string("cannot load ") + library_name + ": " + (why != nullptr ? why : "unknown");
    return nullptr;
  }
  nvml::Api api{};
  const char* missing = nullptr;
  const auto need = [&](const char* symbol, auto& function) {
    if (!bind(library, symbol, function) && missing == nullptr) missing = symbol;
  };
  need("nvmlInit_v2", api.init);
  need("nvmlShutdown", api.shutdown);
  need("nvmlErrorString", api.error_string);
  need("nvmlDeviceGetCount_v2", api.device_count);
  need("nvmlDeviceGetHandleByIndex_v2", api.device_by_index);
  need("nvmlDeviceGetUUID", api.uuid);
  if (missing != nullptr) {
    problem = std::string(library_name) + " has no " + missing;
    dlclose(library);
    return nullptr;
  }
  // Optional: a reading says what it could not get.
  bind(library, "nvmlDeviceGetUtilizationRates", api.utilization);
  bind(library, "nvmlDeviceGetMemoryInfo", api.memory);
  bind(library, "nvmlDeviceGetPowerUsage", api.power);
  bind(library, "nvmlDeviceGetTotalEnergyConsumption", api.energy);
  bind(library, "nvmlDeviceGetTemperature", api.temperature);
  bind(library, "nvmlDeviceGetTotalEccErrors", api.ecc_total);
  const bool events = bind(library, "nvmlEventSetCreate", api.event_set_create) &&
                      bind(library, "nvmlDeviceRegisterEvents", api.register_events) &&
                      bind(library, "nvmlEventSetWait_v2", api.event_set_wait) &&
                      bind(library, "nvmlEventSetFree", api.event_set_free);
  if (!events) api.event_set_create = nullptr;
  if (const nvml::Return r = api.init(); r != nvml::kSuccess) {
    problem = std::string("nvmlInit_v2: ") + api.error_string(r);
    dlclose(library);
    return nullptr;
  }
  return std::make_unique<NvmlSource>(library, api);
}

}  // namespace spotgrid::metering
