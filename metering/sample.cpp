#include "spotgrid/metering/sample.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>

#include "spotgrid/util/hex.hpp"
namespace spotgrid::metering {

bool is_fatal_xid(std::uint64_t xid) {
  // Double-bit ECC (48), internal micro-controller halt (62), ECC page
  // retirement failure (64), NVLink error (74), fallen off the bus (79), high
  // single-bit ECC rate (92), contained/uncontained ECC (94, 95), GSP errors
  // (119, 120), unrecovered ECC (140).
  static constexpr std::array<std::uint64_t, 11> kFatal = {48, 62, 64,  74,  79, 92,
                                                           94, 95, 119, 120, 140};
  return std::find(kFatal.begin(), kFatal.end(), xid) != kFatal.end();
}

std::uint64_t EnergyCounter::delta(std::uint64_t counter_mj) {
  const std::uint64_t previous = last_.value_or(counter_mj);
  last_ = counter_mj;
  return counter_mj >= previous ? counter_mj - previous : counter_mj;
}

std::vector<Sample> to_samples(NodeId node, UnixSeconds second,
                               const std::vector<CardReading>& readings,
                               std::vector<EnergyCounter>& energy, std::uint64_t& next_seq) {
  std::vector<Sample> samples;
  samples.reserve(readings.size());
  if (energy.size() < readings.size()) energy.resize(readings.size());
  for (std::size_t i = 0; i < readings.size(); ++i) {
    const CardReading& reading = readings[i];
    if (reading.uuid.empty()) continue;  // a card we cannot name cannot be billed
    Sample sample;
    sample.node = node;
    sample.seq = next_seq++;
    sample.second = second;
    sample.card_uuid = reading.uuid;
    sample.utilization_pct = reading.utilization_pct;
    sample.memory_used_bytes = reading.memory_used_bytes;
    sample.power_mw = reading.power_mw;
    sample.energy_mj = reading.error.empty() ? energy[i].delta(reading.energy_mj) : 0;
    sample.temperature_c = reading.temperature_c;
    sample.ecc_uncorrected = reading.ecc_uncorrected;
    sample.xids = reading.xids;
    sample.healthy = reading.present && reading.error.empty() &&
                     std::none_of(reading.xids.begin(), reading.xids.end(), is_fatal_xid);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::string batch_json(const std::vector<Sample>& samples) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("samples");
  w.StartArray();
  for (const Sample& s : samples) {
    w.StartObject();
    w.Key("node");
    w.Uint64(s.node);
    w.Key("seq");
    w.Uint64(s.seq);
    w.Key("second");
    w.Int64(s.second);
    w.Key("card");
    w.String(s.card_uuid.c_str());
    w.Key("lease");
    w.Uint64(s.lease);
    w.Key("healthy");
    w.Bool(s.healthy);
    w.Key("utilization_pct");
    w.Uint(s.utilization_pct);
    w.Key("memory_used_bytes");
    w.Uint64(s.memory_used_bytes);
    w.Key("power_mw");
    w.Uint(s.power_mw);
    w.Key("energy_mj");
    w.Uint64(s.energy_mj);
    w.Key("temperature_c");
    w.Uint(s.temperature_c);
    w.Key("ecc_uncorrected");
    w.Uint64(s.ecc_uncorrected);
    w.Key("xids");
    w.StartArray();
    for (const std::uint64_t xid : s.xids)
      w.Uint64(xid);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

namespace {

std::array<unsigned char, EVP_MAX_MD_SIZE> mac(std::string_view key, std::string_view payload,
                                               unsigned& length) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), digest.data(),
       &length);
  return digest;
}

}  // namespace

std::string sign(std::string_view key, std::string_view payload) {
  unsigned length = 0;
  const auto digest = mac(key, payload, length);
  return util::to_hex(digest.data(), length);
}

bool verify(std::string_view key, std::string_view payload, std::string_view signature_hex) {
  const std::string expected = sign(key, payload);
  return signature_hex.size() == expected.size() &&
         CRYPTO_memcmp(expected.data(), signature_hex.data(), expected.size()) == 0;
}

}  // namespace spotgrid::metering
