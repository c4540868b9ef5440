// The ziggurat normal fill of src/rng (Rng.fillNormal) in C++, continuing the same xoshiro128** stream: every
// step is the JavaScript one in the same IEEE double arithmetic (no FMA contraction: -ffp-contract=off), so the
// values are the same; only a tail draw (log) or a wedge test (exp) could differ, where the C library's log or
// exp rounds a double differently from V8's (the tests compare millions of draws bit for bit).
#include <cmath>
#include <cstdint>

#include "kernels.h"

namespace fiveband {

namespace {

struct Xoshiro {
  uint32_t s0, s1, s2, s3;
  static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  uint32_t next_u32() {
    const uint32_t result = rotl(s1 * 5u, 7) * 9u;
    const uint32_t t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  }
  /** Rng.next(): a uniform double in [0, 1) from 53 bits of two outputs. */
  double next_double() {
    const double hi = double(next_u32() >> 5), lo = double(next_u32() >> 6);
    return (hi * 67108864.0 + lo) / 9007199254740992.0;
  }
};

}  // namespace

void fill_normal(uint32_t* state, float* out, int64_t size, double mean, double sd, const double* x, const double* ratio,
                 double r) {
  Xoshiro g{state[0], state[1], state[2], state[3]};
  for (int64_t k = 0; k < size; ++k) {
    double z;
    for (;;) {
      const int32_t bits = int32_t(g.next_u32());
      const int i = bits & 127;
      const double u = double(bits >> 7) * 5.9604644775390625e-8;
      if (std::fabs(u) < ratio[i]) {
        z = u * x[i];
        break;
      }
      if (i == 0) {
        double a, b;
        do {
          a = -std::log(1 - g.next_double()) / r;
          b = -std::log(1 - g.next_double());
        } while (2 * b < a * a);
        z = u < 0 ? -(r + a) : r + a;
        break;
      }
      const double v = u * x[i];
      const double f0 = std::exp(-0.5 * (x[i] * x[i] - v * v));
      const double f1 = std::exp(-0.5 * (x[i + 1] * x[i + 1] - v * v));
      if (f1 + g.next_double() * (f0 - f1) < 1) {
        z = v;
        break;
      }
    }
    out[k] = float(mean + sd * z);
  }
  state[0] = g.s0, state[1] = g.s1, state[2] = g.s2, state[3] = g.s3;
}

}  // namespace fiveband
