#include "spotgrid/metering/spool.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <filesystem>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace spotgrid::metering {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path);
    }
    done += static_cast<std::size_t>(n);
  }
}

std::string line_of(const SpooledBatch& batch) {
  std::string line = std::to_string(batch.first_seq);
  line += ' ';
  line += std::to_string(batch.last_seq);
  line += ' ';
  line += batch.payload;
  line += '\n';
  return line;
}

// Replaces `path` with `content`, durably: a temporary file, fsync, rename, and
// fsync of the directory.
void replace_file(const std::string& directory, const std::string& path,
                  const std::string& content) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create", temporary);
  write_all(fd, content, temporary);
  if (::fsync(fd) != 0) fail("cannot fsync", temporary);
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) fail("cannot rename", temporary);
  const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

Spool::Spool(std::string directory, std::uint64_t max_bytes)
    : directory_(std::move(directory)), max_bytes_(max_bytes) {
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  if (error) throw std::runtime_error("cannot create " + directory_ + ": " + error.message());
  load();
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

void Spool::load() {
  const std::string log = directory_ + "/spool.log";
  std::ifstream ack(directory_ + "/spool.ack");
  ack >> acknowledged_;
  std::ifstream in(log, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t start = 0;
  std::size_t kept = 0;
  while (start < content.size()) {
    const std::size_t end = content.find('\n', start);
    if (end == std::string::npos) break;  // the last line, cut short by a crash: dropped below
    const std::string_view line(content.data() + start, end - start);
    // A complete line that does not parse is damage, not a crash: refuse to
    // guess (dropping it, or what follows it, could lose unsent samples).
    SpooledBatch batch;
    const auto space1 = line.find(' ');
    const auto space2 = space1 == std::string_view::npos ? space1 : line.find(' ', space1 + 1);
    const bool parsed =
        space2 != std::string_view::npos &&
        std::from_chars(line.data(), line.data() + space1, batch.first_seq).ptr ==
            line.data() + space1 &&
        std::from_chars(line.data() + space1 + 1, line.data() + space2, batch.last_seq).ptr ==
            line.data() + space2 &&
        batch.first_seq <= batch.last_seq;
    if (!parsed) {
      throw std::runtime_error(log + ": damaged record at byte " + std::to_string(start) +
                               ": move the file aside to start a new spool");
    }
    batch.payload = std::string(line.substr(space2 + 1));
    batches_.push_back(std::move(batch));
    start = end + 1;
    kept = start;
  }
  fd_ = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) fail("cannot open", log);
  if (kept < content.size() && ::ftruncate(fd_, static_cast<off_t>(kept)) != 0)
    fail("cannot truncate", log);
  bytes_ = kept;
}

bool Spool::append(const SpooledBatch& batch) {
  const std::string line = line_of(batch);
  if (bytes_ + line.size() > max_bytes_) return false;
  const std::string log = directory_ + "/spool.log";
  write_all(fd_, line, log);
  if (::fdatasync(fd_) != 0) fail("cannot fsync", log);
  bytes_ += line.size();
  batches_.push_back(batch);
  return true;
}

std::vector<SpooledBatch> Spool::pending(std::size_t max) const {
  std::vector<SpooledBatch> out;
  for (const SpooledBatch& batch : batches_) {
    if (out.size() >= max) break;
    if (batch.last_seq > acknowledged_) out.push_back(batch);
  }
  return out;
}

void Spool::acknowledge(std::uint64_t seq) {
  if (seq <= acknowledged_) return;
  acknowledged_ = seq;
  replace_file(directory_, directory_ + "/spool.ack", std::to_string(seq) + "\n");
  std::size_t done = 0;
  for (const SpooledBatch& batch : batches_)
    done += batch.last_seq <= acknowledged_ ? 1 : 0;
  if (done * 2 > batches_.size()) compact();
}

void Spool::set_aside(const SpooledBatch& batch, const std::string& why) {
  const std::string path = directory_ + "/rejected.log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot open", path);
  std::string line = "# ";
  for (const char c : why)
    line += c == '\n' ? ' ' : c;
  line += '\n';
  line += line_of(batch);
  write_all(fd, line, path);
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) fail("cannot fsync", path);
}

// Rewrites the log with only what is unacknowledged.
void Spool::compact() {
  std::vector<SpooledBatch> kept;
  std::string content;
  for (SpooledBatch& batch : batches_) {
    if (batch.last_seq <= acknowledged_) continue;
    content += line_of(batch);
    kept.push_back(std::move(batch));
  }
  const std::string log = directory_ + "/spool.log";
  replace_file(directory_, log, content);
  ::close(fd_);
  fd_ = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) fail("cannot open", log);
  batches_ = std::move(kept);
  bytes_ = content.size();
}

}  // namespace spotgrid::metering
