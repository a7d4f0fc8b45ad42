// Buffer: a byte buffer with three regions, as in muduo:
//
//   | prependable | readable (peek()..) | writable (beginWrite()..) |
//   0        readerIndex          writerIndex                    size
//
// Owns its storage. Not thread-safe: a Buffer belongs to one thread at a time (a connection's
// buffers belong to its loop thread). kCheapPrepend leaves room to prepend a frame header.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lars::reactor {

class Buffer {
 public:
  static constexpr size_t kCheapPrepend = 8;
  static constexpr size_t kInitialSize = 1024;
  // readFd reads at most writableBytes() + kExtraReadSize bytes per call.
  static constexpr size_t kExtraReadSize = 65536;

  explicit Buffer(size_t initialSize = kInitialSize);

  size_t readableBytes() const { return writerIndex_ - readerIndex_; }
  size_t writableBytes() const { return buf_.size() - writerIndex_; }
  size_t prependableBytes() const { return readerIndex_; }
  size_t capacity() const { return buf_.size(); }

  const char* peek() const { return buf_.data() + readerIndex_; }
  std::string_view view() const { return {peek(), readableBytes()}; }

  void retrieve(size_t n);
  void retrieveAll();
  std::string retrieveAsString(size_t n);
  std::string retrieveAllAsString();

  void append(const void* data, size_t n);
  void append(std::string_view s) { append(s.data(), s.size()); }
  void appendInt32LE(int32_t v);
  // Reads a little-endian int32 at peek() + offset; requires readableBytes() >= offset + 4.
  int32_t peekInt32LE(size_t offset = 0) const;

  void prepend(const void* data, size_t n);  // requires prependableBytes() >= n

  void ensureWritable(size_t n);
  char* beginWrite() { return buf_.data() + writerIndex_; }
  void hasWritten(size_t n) { writerIndex_ += n; }

  // Gives memory back: keeps the readable bytes plus `reserve` writable ones.
  void shrink(size_t reserve);
  // Frees the storage of an empty buffer, so an idle connection's buffers cost (almost) nothing.
  void releaseIfEmpty() {
    if (readableBytes() == 0 && buf_.size() > kCheapPrepend) shrink(0);
  }

  // Reads once from fd with readv into the writable region plus a stack buffer, so a large read
  // does not need a large buffer up front. Returns what read returns; on error sets *savedErrno.
  ssize_t readFd(int fd, int* savedErrno);

 private:
  void makeSpace(size_t n);

  std::vector<char> buf_;
  size_t readerIndex_;
  size_t writerIndex_;
};

}  // namespace lars::reactor
