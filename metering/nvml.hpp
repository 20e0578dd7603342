#pragma once
// The few NVML types, constants and functions the agent uses, declared here so
// that nothing needs nvml.h at build time (the library is loaded at run time).
// Layouts and values as in NVIDIA's nvml.h (R450 and later).
#include <cstdint>

namespace spotgrid::metering::nvml {

using Return = int;  // nvmlReturn_t
constexpr Return kSuccess = 0;
constexpr Return kErrorNotSupported = 3;
constexpr Return kErrorTimeout = 10;
constexpr Return kErrorGpuIsLost = 15;

using Device = struct nvmlDevice_st*;
using EventSet = struct nvmlEventSet_st*;

struct Utilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};
struct Memory {  // nvmlMemory_t
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct EventData {  // nvmlEventData_t (as taken by nvmlEventSetWait_v2)
  Device device;
  unsigned long long eventType;
  unsigned long long eventData;  // the XID for nvmlEventTypeXidCriticalError
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

constexpr unsigned kTemperatureGpu = 0;                // NVML_TEMPERATURE_GPU
constexpr unsigned kMemoryErrorUncorrected = 1;        // NVML_MEMORY_ERROR_TYPE_UNCORRECTED
constexpr unsigned kAggregateEcc = 1;                  // NVML_AGGREGATE_ECC
constexpr unsigned long long kEventXidCritical = 0x8;  // nvmlEventTypeXidCriticalError
constexpr unsigned kUuidBufferSize = 96;               // NVML_DEVICE_UUID_V2_BUFFER_SIZE

// The versioned symbols, looked up with dlsym.
struct Api {
  Return (*init)();                                  // nvmlInit_v2
  Return (*shutdown)();                              // nvmlShutdown
  const char* (*error_string)(Return);               // nvmlErrorString
  Return (*device_count)(unsigned int*);             // nvmlDeviceGetCount_v2
  Return (*device_by_index)(unsigned int, Device*);  // nvmlDeviceGetHandleByIndex_v2
  Return (*uuid)(Device, char*, unsigned int);       // nvmlDeviceGetUUID
  Return (*utilization)(Device, Utilization*);       // nvmlDeviceGetUtilizationRates
  Return (*memory)(Device, Memory*);                 // nvmlDeviceGetMemoryInfo
  Return (*power)(Device, unsigned int*);            // nvmlDeviceGetPowerUsage (mW)
  Return (*energy)(Device, unsigned long long*);     // nvmlDeviceGetTotalEnergyConsumption (mJ)
  Return (*temperature)(Device, unsigned, unsigned int*);  // nvmlDeviceGetTemperature
  Return (*ecc_total)(Device, unsigned, unsigned,
                      unsigned long long*);                         // nvmlDeviceGetTotalEccErrors
  Return (*event_set_create)(EventSet*);                            // nvmlEventSetCreate
  Return (*register_events)(Device, unsigned long long, EventSet);  // nvmlDeviceRegisterEvents
  Return (*event_set_wait)(EventSet, EventData*, unsigned int);     // nvmlEventSetWait_v2
  Return (*event_set_free)(EventSet);                               // nvmlEventSetFree
};

}  // namespace spotgrid::metering::nvml
