// fiveband's native kernels on oneDNN: plain float32 buffers owned by the caller (V8), NHWC activations,
// tfjs's HWIO filters. Every function is synchronous and runs on the calling thread's OpenMP team.
#pragma once
#include <cstdint>
#include <string>

namespace fiveband {

/** One 2-D convolution's geometry, in tfjs's terms (dilation 1 = dense), explicit padding. */
struct ConvGeometry {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pad_top, pad_left, pad_bottom, pad_right;
};

/** One 2-D pooling window's geometry (NHWC, channels unchanged), explicit padding. */
struct PoolGeometry {
  int64_t n, ih, iw, c, oh, ow, kh, kw, sh, sw, pad_top, pad_left, pad_bottom, pad_right;
};

/**
 * y = conv(x, w) (+ bias) (then ReLU if relu). bias may be null. `filter_id` names the filter's contents (tfjs
 * tensors are immutable): its reorder into the primitive's layout is kept for the next call with the same id
 * until release_filter(id); 0 = not cached.
 */
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, int64_t filter_id, const float* bias, bool relu,
                    float* y);
/** dx = the convolution's input gradient (also the forward pass of a transposed convolution). */
void conv2d_backward_data(const ConvGeometry& g, const float* dy, const float* w, int64_t filter_id, float* dx);
/** Frees the reordered copies of a filter (its tensor was disposed). */
void release_filter(int64_t filter_id);
/** dw = the convolution's filter gradient, HWIO. */
void conv2d_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw);

/**
 * out[b] = op(a[b]) · op(b[b]) for row-major a (batch_a × m × k, or × k × m when trans_a) and b (batch_b × k × n,
 * or × n × k when trans_b); a batch of 1 broadcasts.
 */
void matmul(int64_t batch_a, int64_t batch_b, int64_t m, int64_t k, int64_t n, bool trans_a, bool trans_b,
            const float* a, const float* b, float* out);

/** Max pooling; padded positions never win. */
void max_pool_forward(const PoolGeometry& g, const float* x, float* y);
/** The max-pool input gradient: each window's gradient goes to its first maximum in row-major window order. */
void max_pool_backward(const PoolGeometry& g, const float* x, const float* dy, float* dx);
/** Average pooling over the window's input positions only (padding excluded, as tfjs). */
void avg_pool_forward(const PoolGeometry& g, const float* x, float* y);
void avg_pool_backward(const PoolGeometry& g, const float* dy, float* dx);

/**
 * Training BatchNorm over NHWC x (rows = n·h·w, c channels): y = γ(x − μ)/√(σ² + ε) + β with the batch's biased
 * variance; writes mean and variance.
 */
void batch_norm_forward(int64_t rows, int64_t c, float eps, const float* x, const float* gamma, const float* beta,
                        float* y, float* mean, float* variance);
/**
 * Inference BatchNorm with given statistics: y = β + (x − μ)·γ / √(σ² + ε), evaluated in double in that order and
 * rounded once, as tfjs's cpu kernel (so the two agree bit for bit).
 */
void batch_norm_inference(int64_t rows, int64_t c, double eps, const float* x, const float* mean, const float* variance,
                          const float* gamma, const float* beta, float* y);
/**
 * Its gradients from the statistics used: with batch_statistics, the forward's own (dx includes their dependence
 * on x); otherwise fixed running ones (dx = γ/σ · dy).
 */
void batch_norm_backward(int64_t rows, int64_t c, float eps, bool batch_statistics, const float* x, const float* dy,
                         const float* gamma, const float* mean, const float* variance, float* dx, float* dgamma,
                         float* dbeta);

/** OpenMP threads the calling thread's kernels use. */
void set_threads(int threads);
int threads();
/** oneDNN's version and the instruction set its kernels dispatch to. */
std::string library_version();
std::string cpu_isa();

}  // namespace fiveband

namespace fiveband {

enum class BinaryOp { add = 0, sub, mul, div, maximum, minimum, squared_difference };
enum class CompareOp { less = 0, less_equal, greater, greater_equal, equal, not_equal };
enum class UnaryOp { relu = 0, leaky_relu, exp, log, neg, sqrt, rsqrt, square, abs };
enum class ReduceOp { sum = 0, mean, max, min };

/**
 * out = a ∘ b over an output of `rank` dims (≤ 8), inputs addressed through element strides per output dim
 * (0 where broadcast).
 */
void binary(BinaryOp op, int rank, const int64_t* shape, const int64_t* a_strides, const int64_t* b_strides,
            const float* a, const float* b, float* out);
/** out = a op b ? 1 : 0 (tfjs's bool tensors), broadcast as `binary`; NaN compares false except not_equal. */
void compare(CompareOp op, int rank, const int64_t* shape, const int64_t* a_strides, const int64_t* b_strides,
             const float* a, const float* b, uint8_t* out);
/** out = f(x) elementwise; alpha is LeakyReLU's slope. */
void unary(UnaryOp op, int64_t size, float alpha, const float* x, float* out);
/** Reduces x viewed as [outer, length, inner] over its middle axis into [outer, inner] (sums in double). */
void reduce(ReduceOp op, int64_t outer, int64_t length, int64_t inner, const float* x, float* out);
/** Copies the block starting at `begin` of extent `size` (rank ≤ 8) out of x (shape `shape`). */
void slice(int rank, const int64_t* shape, const int64_t* begin, const int64_t* size, const float* x, float* out);
/** out[i] = x at the index whose dim perm[d] is out's dim d (rank ≤ 8): tfjs's Transpose. */
void transpose(int rank, const int64_t* shape, const int64_t* perm, const float* x, float* out);
/** out = x padded by `before` leading elements per dim to `out_shape`, the rest `value`. */
void pad(int rank, const int64_t* shape, const int64_t* before, const int64_t* out_shape, float value, const float* x,
         float* out);
/** Softmax over the last axis of rows × length values. */
void softmax(int64_t rows, int64_t length, const float* x, float* out);
/** dx = x > 0 ? dy : 0. */
void relu_grad(int64_t size, const float* dy, const float* x, float* dx);
/**
 * Rng.fillNormal's ziggurat draws into out, continuing the xoshiro128** stream in `state` (4 words, updated):
 * tables x (129) and ratio (128) and the tail edge r as the JavaScript has them.
 */
void fill_normal(uint32_t* state, float* out, int64_t size, double mean, double sd, const double* x, const double* ratio,
                 double r);
/** out = a / (b + (b >= 0 ? eps : -eps)): LRP's stabilised ratio. */
void stabilised_divide(int64_t size, const float* a, const float* b, float eps, float* out);
/** TensorFlow's UnsortedSegmentSum of `count` rows of `inner` values into `segments` rows (ids out of range dropped). */
void segment_sum(int64_t count, int64_t inner, int64_t segments, const int32_t* ids, const float* x, float* out);
/** One Adam step (decoupled from tfjs: the coefficients as fiveband's AdamCoefficients), in double like the cpu kernel. */
void adam_update(int64_t size, const float* value, const float* grad, const float* m, const float* v, float* value_out,
                 float* m_out, float* v_out, double beta1, double beta2, double weight_decay, double step_size,
                 double sqrt_bias2, double eps);

/**
 * DeepLift's rescale rule (src/compute/deeplift-rescale.ts): rows hold inputs then references; where
 * |Δin| < eps the plain gradient (`plain` when given, else dy · (x > 0 ? 1 : slope)), else dy · Δout / Δin.
 */
void deeplift_rescale(int64_t size, const float* dy, const float* x, const float* y, const float* plain, float slope,
                      float eps, float* out);
struct DeepLiftPoolShape {
  int64_t rows, height, width, channels, out_height, out_width;
};
/**
 * Captum's DeepLift max-pool rule (src/compute/deeplift-max-pool.ts); `geometry` holds each output row's first and
 * last input row, then each output column's first and last input column.
 */
void deeplift_max_pool(const DeepLiftPoolShape& shape, const int32_t* geometry, const float* input, const float* output,
                       const float* dy, float eps, float* grad);

}  // namespace fiveband
