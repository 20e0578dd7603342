#include "spotgrid/metering/agent.hpp"

#include <algorithm>

namespace spotgrid::metering {

Agent::Agent(NodeId node, std::string node_key, std::unique_ptr<CardSource> source, Spool& spool)
    : node_(node), key_(std::move(node_key)), source_(std::move(source)), spool_(spool) {
  // Never reuse a sequence: the server de-duplicates on (node, sequence).
  next_seq_ = spool_.acknowledged() + 1;
  for (const SpooledBatch& batch : spool_.pending(SIZE_MAX))
    next_seq_ = std::max(next_seq_, batch.last_seq + 1);
}

SpooledBatch Agent::sample_once(UnixSeconds now) {
  std::vector<Sample> samples = to_samples(node_, now, source_->read(), energy_, next_seq_);
  for (Sample& sample : samples)
    sample.lease = lease_of(sample.card_index);
  SpooledBatch batch;
  if (samples.empty()) return batch;
  batch.first_seq = samples.front().seq;
  batch.last_seq = samples.back().seq;
  const std::string body = batch_json(samples);
  // "<signature> <batch JSON>": sent as a signature header and the body as is,
  // so the server checks the very bytes that were signed.
  batch.payload = sign(key_, body);
  batch.payload += ' ';
  batch.payload += body;
  stats_.samples += samples.size();
  stats_.unhealthy_samples += static_cast<std::uint64_t>(
      std::count_if(samples.begin(), samples.end(), [](const Sample& s) { return !s.healthy; }));
  if (spool_.append(batch)) {
    ++stats_.batches;
  } else {
    ++stats_.batches_refused;
  }
  return batch;
}

LeaseId Agent::lease_of(std::uint32_t card_index) const {
  for (const Assignment& card : assignments_)
    if (card.card_index == card_index) return card.lease;
  return 0;
}

std::size_t Agent::flush(Uplink& uplink, std::size_t max_batches) {
  std::size_t done = 0;
  std::uint64_t acknowledged = 0;
  for (const SpooledBatch& batch : spool_.pending(max_batches)) {
    const UplinkAnswer answer = uplink.send(batch);
    if (answer.kind == UplinkAnswer::Kind::kUnreachable) {
      ++stats_.send_failures;
      last_problem_ = answer.problem;
      break;
    }
    if (answer.kind == UplinkAnswer::Kind::kRefused) {
      // Never accepted, so never billed: kept aside for the operator, not re-sent forever.
      ++stats_.batches_rejected;
      last_problem_ = answer.problem;
      spool_.set_aside(batch, answer.problem);
    } else {
      ++stats_.batches_sent;
      assignments_ = answer.assignments;
    }
    acknowledged = batch.last_seq;
    ++done;
  }
  // Once per flush: a crash before it only means re-sends, which the server ignores.
  if (acknowledged != 0) spool_.acknowledge(acknowledged);
  return done;
}

}  // namespace spotgrid::metering
