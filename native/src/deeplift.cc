// DeepLift's rules as kernels (src/compute/deeplift-rescale.ts and deeplift-max-pool.ts hold the JavaScript twins
// and say what they compute). Every step rounds to float32 as those do, so the values are the same bit for bit.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace fiveband {

namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kGrain = 1 << 15;

/** JavaScript's Math.max for two floats: NaN if either is, +0 over −0. */
float js_max(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

}  // namespace

void deeplift_rescale(int64_t size, const float* dy, const float* x, const float* y, const float* plain, float slope,
                      float eps, float* out) {
  const int64_t half = size / 2;
  const auto element = [&](int64_t k, float d_in, float d_out) {
    if (std::fabs(d_in) < eps) out[k] = plain != nullptr ? plain[k] : dy[k] * (x[k] > 0.f ? 1.f : slope);
    else out[k] = (dy[k] * d_out) / d_in;
  };
#pragma omp parallel for if (size >= kGrain) schedule(static)
  for (int64_t i = 0; i < half; ++i) {
    const float d_in = x[i] - x[i + half];
    const float d_out = y[i] - y[i + half];
    element(i, d_in, d_out);
    element(i + half, d_in, d_out);
  }
}

void deeplift_max_pool(const DeepLiftPoolShape& s, const int32_t* geometry, const float* input, const float* output,
                       const float* dy, float eps, float* grad) {
  const int64_t half = s.rows / 2;
  const int64_t plane = s.height * s.width * s.channels;
  const int64_t out_plane = s.out_height * s.out_width * s.channels;
  const int32_t* row_start = geometry;
  const int32_t* row_end = geometry + s.out_height;
  const int32_t* col_start = geometry + 2 * s.out_height;
  const int32_t* col_end = col_start + s.out_width;
  // Each window's argmax: the first maximum in row-major window order; a NaN ends its window row (as the twin).
  const auto argmax = [&](int64_t row, std::vector<int32_t>& into) {
    const float* in = input + row * plane;
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        for (int64_t c = 0; c < s.channels; ++c) {
          float best = -INFINITY;
          int64_t best_index = (row_start[oh] * s.width + col_start[ow]) * s.channels + c;
          for (int64_t h = row_start[oh]; h <= row_end[oh]; ++h) {
            for (int64_t w = col_start[ow]; w <= col_end[ow]; ++w) {
              const int64_t index = (h * s.width + w) * s.channels + c;
              const float v = in[index];
              if (v > best || std::isnan(v)) {
                best = v;
                best_index = index;
                if (std::isnan(v)) break;
              }
            }
          }
          into[(oh * s.out_width + ow) * s.channels + c] = int32_t(best_index);
        }
      }
    }
  };
#pragma omp parallel if (half > 1 && s.rows * plane >= kGrain)
  {
    std::vector<int32_t> ax(out_plane), ar(out_plane);
    std::vector<float> unpooled(plane), unpooled_ref(plane), plain_x(plane), plain_r(plane);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < half; ++i) {
      const int64_t x_row = i, r_row = half + i;
      argmax(x_row, ax);
      argmax(r_row, ar);
      std::fill(unpooled.begin(), unpooled.end(), 0.f);
      std::fill(unpooled_ref.begin(), unpooled_ref.end(), 0.f);
      std::fill(plain_x.begin(), plain_x.end(), 0.f);
      std::fill(plain_r.begin(), plain_r.end(), 0.f);
      // Raster order over outputs: a later window overwrites an earlier one at a shared argmax (assignment).
      for (int64_t o = 0; o < out_plane; ++o) {
        const float y = output[x_row * out_plane + o], yr = output[r_row * out_plane + o];
        const float m = js_max(y, yr);
        const float gx = dy[x_row * out_plane + o], gr = dy[r_row * out_plane + o];
        unpooled[ax[o]] = gx * (m - yr);
        unpooled_ref[ar[o]] = gr * (y - m);
        plain_x[ax[o]] += gx;
        plain_r[ar[o]] += gr;
      }
      for (int64_t p = 0; p < plane; ++p) {
        const float d_in = input[x_row * plane + p] - input[r_row * plane + p];
        const bool small = std::fabs(d_in) < eps;
        const float multiplier = (unpooled[p] + unpooled_ref[p]) / d_in;
        grad[x_row * plane + p] = small ? plain_x[p] : multiplier;
        grad[r_row * plane + p] = small ? plain_r[p] : multiplier;
      }
    }
  }
}

}  // namespace fiveband
