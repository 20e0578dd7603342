#include "spotgrid/metering/sample.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>

#include "spotgrid/util/hmac.hpp"
#include "spotgrid/util/json.hpp"
#include "spotgrid/util/text.hpp"
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
    sample.card_index = reading.index;
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
    w.Key("card_index");
    w.Uint(s.card_index);
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

// Reads one sample's fields; the first problem wins.
class SampleReader {
 public:
  SampleReader(const rapidjson::Value& object, std::int64_t index)
      : object_(object), index_(index) {}

  std::uint64_t number(const char* field, std::uint64_t max) {
    const auto member = object_.FindMember(field);
    if (member == object_.MemberEnd() || !member->value.IsUint64()) {
      fail(field, "must be a non-negative integer");
      return 0;
    }
    const std::uint64_t value = member->value.GetUint64();
    if (value > max) fail(field, "must be at most " + std::to_string(max));
    return value;
  }
  bool flag(const char* field) {
    const auto member = object_.FindMember(field);
    if (member == object_.MemberEnd() || !member->value.IsBool()) {
      fail(field, "must be true or false");
      return false;
    }
    return member->value.GetBool();
  }
  std::string text(const char* field, std::size_t max_length) {
    const auto member = object_.FindMember(field);
    if (member == object_.MemberEnd() || !member->value.IsString() ||
        member->value.GetStringLength() == 0 || member->value.GetStringLength() > max_length) {
      fail(field, "must be a string of 1 to " + std::to_string(max_length) + " bytes");
      return {};
    }
    std::string value(member->value.GetString(), member->value.GetStringLength());
    if (!util::is_clean_text(value)) {
      fail(field, "must not hold NUL or other control characters");
      return {};
    }
    return value;
  }
  std::vector<std::uint64_t> numbers(const char* field, std::size_t max_items) {
    const auto member = object_.FindMember(field);
    std::vector<std::uint64_t> values;
    if (member == object_.MemberEnd() || !member->value.IsArray() ||
        member->value.Size() > max_items) {
      fail(field, "must be a list of at most " + std::to_string(max_items) + " integers");
      return values;
    }
    for (const rapidjson::Value& item : member->value.GetArray()) {
      if (!item.IsUint64()) {
        fail(field, "must hold non-negative integers");
        break;
      }
      values.push_back(item.GetUint64());
    }
    return values;
  }
  void fail(const char* field, std::string message) {
    if (!problem) problem = BatchProblem{index_, field, std::move(message)};
  }

  std::optional<BatchProblem> problem;

 private:
  const rapidjson::Value& object_;
  std::int64_t index_;
};

Sample read_sample(SampleReader& r) {
  Sample s;
  s.node = r.number("node", UINT64_MAX);
  s.seq = r.number("seq", INT64_MAX);
  s.second = static_cast<UnixSeconds>(r.number("second", INT64_MAX));
  s.card_index = static_cast<std::uint32_t>(r.number("card_index", limits::kMaxCardsPerNode - 1));
  s.card_uuid = r.text("card", 96);
  s.lease = r.number("lease", UINT64_MAX);
  s.healthy = r.flag("healthy");
  s.utilization_pct = static_cast<std::uint32_t>(r.number("utilization_pct", 100));
  s.memory_used_bytes = r.number("memory_used_bytes", kMaxMemoryBytes);
  s.power_mw = static_cast<std::uint32_t>(r.number("power_mw", kMaxPowerMw));
  s.energy_mj = r.number("energy_mj", kMaxEnergyMjPerSecond);
  s.temperature_c = static_cast<std::uint32_t>(r.number("temperature_c", kMaxTemperatureC));
  s.ecc_uncorrected = r.number("ecc_uncorrected", INT64_MAX);
  s.xids = r.numbers("xids", 16);
  return s;
}

}  // namespace

constexpr std::size_t kMaxSampleFields = 32;

std::string stream_proof_payload(NodeId node, std::int64_t unix_seconds) {
  return "spotgrid-stream " + std::to_string(node) + " " + std::to_string(unix_seconds);
}

std::variant<std::vector<Sample>, BatchProblem> parse_batch(std::string_view json) {
  rapidjson::Document document;
  if (util::parse_json(document, json, limits::kMaxJsonBytes) || !document.IsObject())
    return BatchProblem{-1, "body", "must be a JSON object"};
  const rapidjson::Value& root =
      document;  // const iterators: RapidJSON 1.1's are ambiguous in C++20
  const auto list = root.FindMember("samples");
  if (list == root.MemberEnd() || !list->value.IsArray() || list->value.Empty() ||
      list->value.Size() > kMaxBatchSamples) {
    return BatchProblem{-1, "samples",
                        "must be a list of 1 to " + std::to_string(kMaxBatchSamples) + " samples"};
  }
  std::vector<Sample> samples;
  samples.reserve(list->value.Size());
  for (const rapidjson::Value& item : list->value.GetArray()) {
    const auto index = static_cast<std::int64_t>(samples.size());
    if (!item.IsObject()) return BatchProblem{index, "samples", "each sample must be an object"};
    // A sample has 14 fields; a name given twice is ambiguous.
    if (item.MemberCount() > kMaxSampleFields)
      return BatchProblem{index, "samples", "a sample has too many fields"};
    if (const auto repeated = util::repeated_name(item))
      return BatchProblem{index, std::string(*repeated), "is given more than once"};
    SampleReader reader(item, index);
    Sample sample = read_sample(reader);
    if (!samples.empty() && sample.node != samples.front().node)
      reader.fail("node", "every sample of a batch must come from one node");
    if (!samples.empty() && sample.seq <= samples.back().seq)
      reader.fail("seq", "sequences must increase within a batch");
    if (reader.problem) return *std::move(reader.problem);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::string sign(std::string_view key, std::string_view payload) {
  return util::hmac_sha256_hex(key, payload);
}

bool verify(std::string_view key, std::string_view payload, std::string_view signature_hex) {
  return util::hmac_sha256_hex_matches(key, payload, signature_hex);
}

}  // namespace spotgrid::metering

namespace spotgrid::metering {

std::string node_key(std::string_view server_secret, NodeId node) {
  return sign(server_secret, "spotgrid-node-key:" + std::to_string(node));
}

}  // namespace spotgrid::metering
