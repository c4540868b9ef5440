// Memory-bound kernels of the native backend: on tfjs's cpu backend these are JavaScript loops (broadcasts and
// strided slices go through per-element index arithmetic), which dominated a native training step.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernels.h"

namespace fiveband {

namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

template <typename F>
void parallel_rows(int64_t rows, int64_t row_size, F&& body) {
  const bool parallel = rows > 1 && rows * row_size >= kParallelGrain;
#pragma omp parallel for if (parallel) schedule(static)
  for (int64_t r = 0; r < rows; ++r) body(r);
}

/**
 * Calls body(row, offset_a, offset_b) for each row (every index over all dims but the last) of a rank-`rank`
 * walk over `extent`, with two operands' element offsets of the row's start from their strides. Threads take
 * chunks of rows; a chunk finds its first row's offsets by division once and steps through the rest like an
 * odometer (rows of 3 channels, as an NCHW → NHWC transpose of images has, cost more in divisions than in copying).
 */
template <typename F>
void walk_rows(int rank, const int64_t* extent, const int64_t* a_strides, const int64_t* b_strides, F&& body) {
  constexpr int kMaxRank = 16;
  if (rank > kMaxRank) throw std::invalid_argument("rank above 16");
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; ++d) rows *= extent[d];
  const int64_t inner = std::max<int64_t>(extent[rank - 1], 1);
  const int64_t per_chunk = std::max<int64_t>(1, kParallelGrain / inner);
  parallel_rows((rows + per_chunk - 1) / per_chunk, per_chunk * inner, [&](int64_t c) {
    const int64_t first = c * per_chunk, last = std::min(rows, first + per_chunk);
    int64_t index[kMaxRank];
    int64_t oa = 0, ob = 0, rest = first;
    for (int d = rank - 2; d >= 0; --d) {
      index[d] = rest % extent[d];
      rest /= extent[d];
      oa += index[d] * a_strides[d];
      ob += index[d] * b_strides[d];
    }
    for (int64_t r = first; r < last; ++r) {
      body(r, oa, ob);
      for (int d = rank - 2; d >= 0; --d) {
        oa += a_strides[d];
        ob += b_strides[d];
        if (++index[d] < extent[d]) break;
        oa -= extent[d] * a_strides[d];
        ob -= extent[d] * b_strides[d];
        index[d] = 0;
      }
    }
  });
}

template <typename Out, typename Op>
void binary_rows(int rank, const int64_t* shape, const int64_t* as, const int64_t* bs, const float* a, const float* b,
                 Out* out, Op op) {
  const int64_t inner = shape[rank - 1];
  const int64_t sa = as[rank - 1], sb = bs[rank - 1];
  const auto span = [&](const float* pa, const float* pb, Out* po, int64_t count) {
    if (sa == 1 && sb == 1)
      for (int64_t i = 0; i < count; ++i) po[i] = op(pa[i], pb[i]);
    else if (sa == 1 && sb == 0)
      for (int64_t i = 0; i < count; ++i) po[i] = op(pa[i], pb[0]);
    else if (sa == 0 && sb == 1)
      for (int64_t i = 0; i < count; ++i) po[i] = op(pa[0], pb[i]);
    else
      for (int64_t i = 0; i < count; ++i) po[i] = op(pa[i * sa], pb[i * sb]);
  };
  if (rank == 1) {
    // One long row (same shapes, or a scalar operand, once the caller merged the dimensions): cut into chunks so
    // that it still spreads over the threads.
    const int64_t chunk = kParallelGrain;
    parallel_rows((inner + chunk - 1) / chunk, chunk, [&](int64_t c) {
      const int64_t begin = c * chunk;
      span(a + begin * sa, b + begin * sb, out + begin, std::min(chunk, inner - begin));
    });
    return;
  }
  walk_rows(rank, shape, as, bs, [&](int64_t r, int64_t oa, int64_t ob) { span(a + oa, b + ob, out + r * inner, inner); });
}

}  // namespace

void binary(BinaryOp op, int rank, const int64_t* shape, const int64_t* as, const int64_t* bs, const float* a,
            const float* b, float* out) {
  switch (op) {
    case BinaryOp::add: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return x + y; });
    case BinaryOp::sub: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return x - y; });
    case BinaryOp::mul: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return x * y; });
    case BinaryOp::div: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return x / y; });
    // NaN propagates as in tfjs (Math.max/Math.min).
    case BinaryOp::maximum:
      return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y); });
    case BinaryOp::minimum:
      return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y); });
    case BinaryOp::squared_difference:
      return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) { return (x - y) * (x - y); });
  }
}

void compare(CompareOp op, int rank, const int64_t* shape, const int64_t* as, const int64_t* bs, const float* a,
             const float* b, uint8_t* out) {
  switch (op) {
    case CompareOp::less: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) -> uint8_t { return x < y; });
    case CompareOp::less_equal: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) -> uint8_t { return x <= y; });
    case CompareOp::greater: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) -> uint8_t { return x > y; });
    case CompareOp::greater_equal: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) -> uint8_t { return x >= y; });
    case CompareOp::equal: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) -> uint8_t { return x == y; });
    case CompareOp::not_equal: return binary_rows(rank, shape, as, bs, a, b, out, [](float x, float y) -> uint8_t { return x != y; });
  }
}

namespace {

template <typename F>
void map(int64_t size, const float* x, float* out, F f) {
  const int64_t chunk = kParallelGrain;
  parallel_rows((size + chunk - 1) / chunk, chunk, [&](int64_t c) {
    const int64_t end = std::min(size, (c + 1) * chunk);
    for (int64_t i = c * chunk; i < end; ++i) out[i] = f(x[i]);
  });
}

}  // namespace

void unary(UnaryOp op, int64_t size, float alpha, const float* x, float* out) {
  switch (op) {
    // tfjs's relu keeps NaN (x < 0 ? 0 : x).
    case UnaryOp::relu: return map(size, x, out, [](float v) { return v < 0.f ? 0.f : v; });
    case UnaryOp::leaky_relu: return map(size, x, out, [alpha](float v) { return v < 0.f ? alpha * v : v; });
    case UnaryOp::exp: return map(size, x, out, [](float v) { return std::exp(v); });
    case UnaryOp::log: return map(size, x, out, [](float v) { return std::log(v); });
    case UnaryOp::neg: return map(size, x, out, [](float v) { return -v; });
    case UnaryOp::sqrt: return map(size, x, out, [](float v) { return std::sqrt(v); });
    case UnaryOp::rsqrt: return map(size, x, out, [](float v) { return 1.f / std::sqrt(v); });
    case UnaryOp::square: return map(size, x, out, [](float v) { return v * v; });
    case UnaryOp::abs: return map(size, x, out, [](float v) { return std::fabs(v); });
  }
}

void reduce(ReduceOp op, int64_t outer, int64_t length, int64_t inner, const float* x, float* out) {
  const bool extreme = op == ReduceOp::max || op == ReduceOp::min;
  parallel_rows(outer, length * inner, [&](int64_t o) {
    const float* base = x + o * length * inner;
    float* dst = out + o * inner;
    if (extreme) {
      const bool is_max = op == ReduceOp::max;
      for (int64_t i = 0; i < inner; ++i) dst[i] = base[i];
      for (int64_t l = 1; l < length; ++l)
        for (int64_t i = 0; i < inner; ++i) {
          const float v = base[l * inner + i];
          if (std::isnan(v) || std::isnan(dst[i])) dst[i] = NAN;
          else dst[i] = is_max ? std::max(dst[i], v) : std::min(dst[i], v);
        }
      return;
    }
    std::vector<double> acc(static_cast<size_t>(inner), 0.0);
    for (int64_t l = 0; l < length; ++l)
      for (int64_t i = 0; i < inner; ++i) acc[i] += base[l * inner + i];
    const double scale = op == ReduceOp::mean ? 1.0 / double(length) : 1.0;
    for (int64_t i = 0; i < inner; ++i) dst[i] = float(acc[i] * scale);
  });
}

namespace {

std::vector<int64_t> strides_of(int rank, const int64_t* shape) {
  std::vector<int64_t> s(rank, 1);
  for (int d = rank - 2; d >= 0; --d) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

}  // namespace

void slice(int rank, const int64_t* shape, const int64_t* begin, const int64_t* size, const float* x, float* out) {
  const auto in_strides = strides_of(rank, shape), out_strides = strides_of(rank, size);
  int64_t start = 0;
  for (int d = 0; d < rank; ++d) start += begin[d] * in_strides[d];
  walk_rows(rank, size, in_strides.data(), out_strides.data(), [&](int64_t, int64_t i, int64_t o) {
    std::memcpy(out + o, x + start + i, sizeof(float) * size[rank - 1]);
  });
}

void transpose(int rank, const int64_t* shape, const int64_t* perm, const float* x, float* out) {
  const auto in_strides = strides_of(rank, shape);
  std::vector<int64_t> out_shape(rank), read_strides(rank);
  for (int d = 0; d < rank; ++d) {
    out_shape[d] = shape[perm[d]];
    read_strides[d] = in_strides[perm[d]];
  }
  const auto out_strides = strides_of(rank, out_shape.data());
  const int64_t inner = out_shape[rank - 1], step = read_strides[rank - 1];
  walk_rows(rank, out_shape.data(), read_strides.data(), out_strides.data(), [&](int64_t, int64_t i, int64_t o) {
    const float* src = x + i;
    float* dst = out + o;
    for (int64_t k = 0; k < inner; ++k) dst[k] = src[k * step];
  });
}

void pad(int rank, const int64_t* shape, const int64_t* before, const int64_t* out_shape, float value, const float* x,
         float* out) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= out_shape[d];
  std::fill(out, out + total, value);
  const auto in_strides = strides_of(rank, shape), out_strides = strides_of(rank, out_shape);
  int64_t start = 0;
  for (int d = 0; d < rank; ++d) start += before[d] * out_strides[d];
  walk_rows(rank, shape, in_strides.data(), out_strides.data(), [&](int64_t, int64_t i, int64_t o) {
    std::memcpy(out + start + o, x + i, sizeof(float) * shape[rank - 1]);
  });
}

void softmax(int64_t rows, int64_t length, const float* x, float* out) {
  parallel_rows(rows, length, [&](int64_t r) {
    const float* row = x + r * length;
    float* dst = out + r * length;
    float top = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < length; ++i) top = std::max(top, row[i]);
    double sum = 0;
    for (int64_t i = 0; i < length; ++i) sum += (dst[i] = std::exp(row[i] - top));
    const float inv = float(1.0 / sum);
    for (int64_t i = 0; i < length; ++i) dst[i] *= inv;
  });
}

void relu_grad(int64_t size, const float* dy, const float* x, float* dx) {
  const int64_t chunk = kParallelGrain;
  parallel_rows((size + chunk - 1) / chunk, chunk, [&](int64_t c) {
    const int64_t end = std::min(size, (c + 1) * chunk);
    // dy read unconditionally: a select the compiler vectorises, not a branch on the sign of x (random: mispredicted).
    for (int64_t i = c * chunk; i < end; ++i) {
      const float g = dy[i];
      dx[i] = x[i] > 0.f ? g : 0.f;
    }
  });
}

void stabilised_divide(int64_t size, const float* a, const float* b, float eps, float* out) {
  const int64_t chunk = kParallelGrain;
  parallel_rows((size + chunk - 1) / chunk, chunk, [&](int64_t c) {
    const int64_t end = std::min(size, (c + 1) * chunk);
    for (int64_t i = c * chunk; i < end; ++i) out[i] = a[i] / (b[i] + (b[i] >= 0.f ? eps : -eps));
  });
}

void segment_sum(int64_t count, int64_t inner, int64_t segments, const int32_t* ids, const float* x, float* out) {
  std::fill(out, out + segments * inner, 0.f);
  // Threads split the columns, each row still added in order: the sums are those of one sequential pass.
  const int64_t chunk = 4096;
  parallel_rows((inner + chunk - 1) / chunk, chunk * count, [&](int64_t c) {
    const int64_t begin = c * chunk, end = std::min(inner, begin + chunk);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t s = ids[i];
      if (s < 0 || s >= segments) continue;  // TensorFlow's rule: ids outside [0, segments) are dropped
      float* __restrict o = out + s * inner;
      const float* __restrict row = x + i * inner;
      for (int64_t j = begin; j < end; ++j) o[j] += row[j];
    }
  });
}

void adam_update(int64_t size, const float* value, const float* grad, const float* m, const float* v, float* value_out,
                 float* m_out, float* v_out, double beta1, double beta2, double weight_decay, double step_size,
                 double sqrt_bias2, double eps) {
  const int64_t chunk = kParallelGrain;
  parallel_rows((size + chunk - 1) / chunk, chunk, [&](int64_t c) {
    const int64_t end = std::min(size, (c + 1) * chunk);
    for (int64_t i = c * chunk; i < end; ++i) {
      const double g = double(grad[i]) + weight_decay * value[i];
      const float m1 = float(beta1 * m[i] + (1 - beta1) * g);
      const float v1 = float(beta2 * v[i] + (1 - beta2) * g * g);
      m_out[i] = m1;
      v_out[i] = v1;
      value_out[i] = float(value[i] - (step_size * m1) / (std::sqrt(double(v1)) / sqrt_bias2 + eps));
    }
  });
}

}  // namespace fiveband
