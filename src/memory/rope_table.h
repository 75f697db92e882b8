// RopeTable: cos/sin of every (position, frequency) for positions [0, n), for strategies that re-rotate
// their keys at read time every step. Re-positioning strategies keep positions inside the pretrained
// window, so the table is small (8192 x 32 x 2 floats = 2 MiB for SmolLM2) and replaces per-key trig calls.
// Values are computed exactly as ops::ApplyRope computes them, so rotations agree bit for bit. A table can
// also grow with the cache (Extend) when a strategy stores keys rotated at their own positions.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/rope.h"

namespace lm {

class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(const ops::RopeParams& p, int64_t n_positions);

  int64_t n_positions() const { return n_pos_; }
  // Grows the table to at least n positions (existing entries unchanged, amortised doubling).
  void Extend(int64_t n);
  // Rotates one row x: [n_head, head_dim] f32 in place to position pos (0 <= pos < n_positions()).
  void RotateRow(float* x, int64_t n_head, int32_t pos) const;
  // Rotates by `delta` positions, which may be negative (|delta| < n_positions()): R(delta) x, which moves a
  // row rotated at position p to position p + delta.
  void RotateRowBy(float* x, int64_t n_head, int64_t delta) const;
  // Rotates x: [T, n_head, head_dim] f32, token t to pos[t].
  void Rotate(float* x, const int32_t* pos, int64_t n_tokens, int64_t n_head) const;

 private:
  void Fill(int64_t from, int64_t to);
  void Apply(float* x, int64_t n_head, int64_t pos, bool inverse) const;

  ops::RopeParams p_;
  std::vector<float> inv_;  // inverse frequencies, [rot_dim/2]
  int64_t n_pos_ = 0;
  std::vector<float> cos_, sin_;  // [n_positions, rot_dim/2]
};

}  // namespace lm
