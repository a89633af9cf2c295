// A move-only growable byte buffer that appends without zero-filling.
#pragma once

#include <roomrec/export.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

namespace roomrec {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t reserve) { this->reserve(reserve); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
                                cap_(std::exchange(o.cap_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      cap_ = std::exchange(o.cap_, 0);
    }
    return *this;
  }
  ~Buffer() { std::free(data_); }

  static Buffer copy_of(const void* p, size_t n) {
    Buffer b(n);
    b.append(p, n);
    return b;
  }

  uint8_t* data() noexcept { return data_; }
  const uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return size_ == 0; }
  const uint8_t* begin() const noexcept { return data_; }
  const uint8_t* end() const noexcept { return data_ + size_; }

  void reserve(size_t n) {
    if (n <= cap_) return;
    void* p = std::realloc(data_, n);
    if (!p) throw std::bad_alloc();
    data_ = static_cast<uint8_t*>(p);
    cap_ = n;
  }
  // Makes room for n more bytes and returns where they go; commit() them after writing.
  uint8_t* grow(size_t n) {
    if (cap_ - size_ < n) reserve(std::max(cap_ * 2, size_ + n));
    return data_ + size_;
  }
  void commit(size_t n) noexcept { size_ += n; }
  void append(const void* p, size_t n) {
    if (n == 0) return;
    std::memcpy(grow(n), p, n);
    size_ += n;
  }
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  void clear() noexcept { size_ = 0; }
  // Gives back unused capacity (for buffers kept long in memory).
  void shrink_to_fit() {
    if (size_ == cap_ || size_ == 0) return;
    void* p = std::realloc(data_, size_);
    if (p) {
      data_ = static_cast<uint8_t*>(p);
      cap_ = size_;
    }
  }
  std::vector<uint8_t> to_vector() const { return {data_, data_ + size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace roomrec
