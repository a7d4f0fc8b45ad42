#include "reactor/Buffer.h"

#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

namespace lars::reactor {

Buffer::Buffer(size_t initialSize)
    : buf_(kCheapPrepend + initialSize), readerIndex_(kCheapPrepend), writerIndex_(kCheapPrepend) {}

void Buffer::retrieve(size_t n) {
  assert(n <= readableBytes());
  if (n < readableBytes()) {
    readerIndex_ += n;
  } else {
    retrieveAll();
  }
}

void Buffer::retrieveAll() {
  readerIndex_ = kCheapPrepend;
  writerIndex_ = kCheapPrepend;
}

std::string Buffer::retrieveAsString(size_t n) {
  assert(n <= readableBytes());
  std::string s(peek(), n);
  retrieve(n);
  return s;
}

std::string Buffer::retrieveAllAsString() { return retrieveAsString(readableBytes()); }

void Buffer::append(const void* data, size_t n) {
  ensureWritable(n);
  if (n > 0) std::memcpy(beginWrite(), data, n);
  hasWritten(n);
}

void Buffer::appendInt32LE(int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  const unsigned char b[4] = {static_cast<unsigned char>(u), static_cast<unsigned char>(u >> 8),
                              static_cast<unsigned char>(u >> 16), static_cast<unsigned char>(u >> 24)};
  append(b, 4);
}

int32_t Buffer::peekInt32LE(size_t offset) const {
  assert(readableBytes() >= offset + 4);
  const auto* p = reinterpret_cast<const unsigned char*>(peek() + offset);
  const uint32_t u = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                     static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
  return static_cast<int32_t>(u);
}

void Buffer::prepend(const void* data, size_t n) {
  assert(n <= prependableBytes());
  readerIndex_ -= n;
  std::memcpy(buf_.data() + readerIndex_, data, n);
}

void Buffer::ensureWritable(size_t n) {
  if (writableBytes() < n) makeSpace(n);
  assert(writableBytes() >= n);
}

void Buffer::makeSpace(size_t n) {
  const size_t readable = readableBytes();
  if (writableBytes() + prependableBytes() < n + kCheapPrepend) {
    // Grow geometrically so appending in small pieces stays amortised O(1).
    buf_.resize(std::max(writerIndex_ + n, buf_.size() * 2));
  } else {
    // Enough room overall: slide the readable bytes back to the front.
    std::memmove(buf_.data() + kCheapPrepend, peek(), readable);
    readerIndex_ = kCheapPrepend;
    writerIndex_ = readerIndex_ + readable;
  }
}

void Buffer::shrink(size_t reserve) {
  std::vector<char> fresh(kCheapPrepend + readableBytes() + reserve);
  std::memcpy(fresh.data() + kCheapPrepend, peek(), readableBytes());
  writerIndex_ = kCheapPrepend + readableBytes();
  readerIndex_ = kCheapPrepend;
  buf_.swap(fresh);
}

ssize_t Buffer::readFd(int fd, int* savedErrno) {
  char extra[kExtraReadSize];
  const size_t writable = writableBytes();
  iovec vec[2];
  vec[0].iov_base = beginWrite();
  vec[0].iov_len = writable;
  vec[1].iov_base = extra;
  vec[1].iov_len = sizeof extra;
  // With room for a whole extra buffer already, one region is enough.
  const int iovcnt = writable < sizeof extra ? 2 : 1;
  const ssize_t n = ::readv(fd, vec, iovcnt);
  if (n < 0) {
    *savedErrno = errno;
  } else if (static_cast<size_t>(n) <= writable) {
    hasWritten(static_cast<size_t>(n));
  } else {
    writerIndex_ = buf_.size();
    append(extra, static_cast<size_t>(n) - writable);
  }
  return n;
}

}  // namespace lars::reactor
