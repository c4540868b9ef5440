#include "kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace fiveband {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A stream per thread: worker threads each run their own kernels.
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

memory user_memory(const memory::desc& md, const void* data) {
  return memory(md, cpu_engine(), const_cast<void*>(data));
}

/** Runs a reorder into a primitive's preferred layout when it differs from the user's; returns what to pass. */
memory to_layout(const memory& user, const memory::desc& wanted, memory& scratch) {
  if (user.get_desc() == wanted) return user;
  if (!scratch || scratch.get_desc() != wanted) scratch = memory(wanted, cpu_engine());
  dnnl::reorder(user, scratch).execute(thread_stream(), const_cast<memory&>(user), scratch);
  return scratch;
}

std::string conv_key(const char* kind, const ConvGeometry& g, int extra) {
  std::ostringstream key;
  key << kind;
  for (int64_t v : {g.n, g.ih, g.iw, g.ic, g.oh, g.ow, g.oc, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pad_top,
                    g.pad_left, g.pad_bottom, g.pad_right})
    key << ',' << v;
  key << ',' << extra;
  return key.str();
}

struct ConvDescs {
  memory::desc src, weights_any, weights_user, bias, dst;
  memory::dims strides, dilates, pad_l, pad_r;
};

ConvDescs conv_descs(const ConvGeometry& g) {
  return {
      memory::desc({g.n, g.ic, g.ih, g.iw}, dt::f32, tag::nhwc),
      memory::desc({g.oc, g.ic, g.kh, g.kw}, dt::f32, tag::any),
      memory::desc({g.oc, g.ic, g.kh, g.kw}, dt::f32, tag::hwio),
      memory::desc({g.oc}, dt::f32, tag::a),
      memory::desc({g.n, g.oc, g.oh, g.ow}, dt::f32, tag::nhwc),
      {g.sh, g.sw},
      {g.dh - 1, g.dw - 1},
      {g.pad_top, g.pad_left},
      {g.pad_bottom, g.pad_right},
  };
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d, bool bias, bool relu) {
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                       d.weights_any, bias ? d.bias : memory::desc(), d.dst, d.strides, d.dilates,
                                       d.pad_l, d.pad_r);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  return dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
}

// Primitive creation costs far more than execution on small tensors: cached per thread and geometry.
struct ConvForward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory weights;  // the filter in the primitive's layout (uncached calls)
};
struct ConvBackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  memory weights;
};

// Filters already reordered into a primitive's layout, by filter id and layout: the same weights serve every
// forward and backward pass of an attribution method (and the forward and input gradient of a training step).
// Per thread, like the primitives; released when tfjs disposes the filter tensor.
using LayoutKey = std::pair<int64_t, std::string>;
struct LayoutHash {
  size_t operator()(const LayoutKey& k) const { return std::hash<int64_t>()(k.first) * 31 + std::hash<std::string>()(k.second); }
};
std::unordered_map<LayoutKey, memory, LayoutHash>& filter_cache() {
  thread_local std::unordered_map<LayoutKey, memory, LayoutHash> entries;
  return entries;
}

std::string layout_name(const memory::desc& md) {
  // The desc's bytes identify its layout (dims, strides or blocking) exactly.
  const auto& c = md.data;
  return std::string(reinterpret_cast<const char*>(&c), sizeof(c));
}

/** The filter in `wanted`'s layout: the cached copy for filter_id, a new reorder (cached), or the user's memory. */
memory filter_in(const memory& user, const memory::desc& wanted, int64_t filter_id, memory& scratch) {
  if (user.get_desc() == wanted) return user;
  if (filter_id == 0) return to_layout(user, wanted, scratch);
  auto& cached = filter_cache()[{filter_id, layout_name(wanted)}];
  if (!cached) {
    cached = memory(wanted, cpu_engine());
    dnnl::reorder(user, cached).execute(thread_stream(), const_cast<memory&>(user), cached);
  }
  return cached;
}
struct ConvBackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  memory diff_weights;
};
struct MatMul {
  dnnl::matmul prim;
};

template <typename Entry>
std::unordered_map<std::string, std::unique_ptr<Entry>>& cache() {
  thread_local std::unordered_map<std::string, std::unique_ptr<Entry>> entries;
  return entries;
}

}  // namespace

void release_filter(int64_t filter_id) {
  auto& entries = filter_cache();
  for (auto it = entries.begin(); it != entries.end();) it = it->first.first == filter_id ? entries.erase(it) : std::next(it);
}

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, int64_t filter_id, const float* bias, bool relu,
                    float* y) {
  const ConvDescs d = conv_descs(g);
  auto& entry = cache<ConvForward>()[conv_key("f", g, (bias != nullptr) * 2 + relu)];
  if (!entry) {
    auto pd = forward_pd(d, bias != nullptr, relu);
    entry.reset(new ConvForward{pd, dnnl::convolution_forward(pd), memory()});
  }
  memory weights = filter_in(user_memory(d.weights_user, w), entry->pd.weights_desc(), filter_id, entry->weights);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, user_memory(d.src, x)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, user_memory(d.dst, y)}};
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, user_memory(d.bias, bias));
  entry->prim.execute(thread_stream(), args);
  thread_stream().wait();
}

void conv2d_backward_data(const ConvGeometry& g, const float* dy, const float* w, int64_t filter_id, float* dx) {
  const ConvDescs d = conv_descs(g);
  auto& entry = cache<ConvBackwardData>()[conv_key("d", g, 0)];
  if (!entry) {
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any, d.dst,
                                               d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, cpu_engine(), forward_pd(d, false, false));
    entry.reset(new ConvBackwardData{pd, dnnl::convolution_backward_data(pd), memory()});
  }
  memory weights = filter_in(user_memory(d.weights_user, w), entry->pd.weights_desc(), filter_id, entry->weights);
  entry->prim.execute(thread_stream(), {{DNNL_ARG_DIFF_DST, user_memory(d.dst, dy)},
                                        {DNNL_ARG_WEIGHTS, weights},
                                        {DNNL_ARG_DIFF_SRC, user_memory(d.src, dx)}});
  thread_stream().wait();
}

void conv2d_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const ConvDescs d = conv_descs(g);
  auto& entry = cache<ConvBackwardWeights>()[conv_key("w", g, 0)];
  if (!entry) {
    dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any, d.dst,
                                                  d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, cpu_engine(), forward_pd(d, false, false));
    memory diff_weights = pd.diff_weights_desc() == d.weights_user ? memory() : memory(pd.diff_weights_desc(), cpu_engine());
    entry.reset(new ConvBackwardWeights{pd, dnnl::convolution_backward_weights(pd), diff_weights});
  }
  memory user = user_memory(d.weights_user, dw);
  memory target = entry->diff_weights ? entry->diff_weights : user;
  entry->prim.execute(thread_stream(), {{DNNL_ARG_SRC, user_memory(d.src, x)},
                                        {DNNL_ARG_DIFF_DST, user_memory(d.dst, dy)},
                                        {DNNL_ARG_DIFF_WEIGHTS, target}});
  if (entry->diff_weights) dnnl::reorder(target, user).execute(thread_stream(), target, user);
  thread_stream().wait();
}

void matmul(int64_t batch_a, int64_t batch_b, int64_t m, int64_t k, int64_t n, bool trans_a, bool trans_b,
            const float* a, const float* b, float* out) {
  const memory::desc a_md({batch_a, m, k}, dt::f32, trans_a ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
  const memory::desc b_md({batch_b, k, n}, dt::f32, trans_b ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
  const memory::desc out_md({std::max(batch_a, batch_b), m, n}, dt::f32, tag::abc);
  std::ostringstream key;
  key << batch_a << ',' << batch_b << ',' << m << ',' << k << ',' << n << ',' << trans_a << ',' << trans_b;
  auto& entry = cache<MatMul>()[key.str()];
  if (!entry) {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, out_md), cpu_engine());
    entry.reset(new MatMul{dnnl::matmul(pd)});
  }
  entry->prim.execute(thread_stream(), {{DNNL_ARG_SRC, user_memory(a_md, a)},
                                        {DNNL_ARG_WEIGHTS, user_memory(b_md, b)},
                                        {DNNL_ARG_DST, user_memory(out_md, out)}});
  thread_stream().wait();
}

namespace {

/** The window of output (oy, ox) clipped to the image: rows [r0, r1), columns [c0, c1). */
struct Window {
  int64_t r0, r1, c0, c1;
};
Window window(const PoolGeometry& g, int64_t oy, int64_t ox) {
  const int64_t r = oy * g.sh - g.pad_top, c = ox * g.sw - g.pad_left;
  return {std::max<int64_t>(r, 0), std::min(r + g.kh, g.ih), std::max<int64_t>(c, 0), std::min(c + g.kw, g.iw)};
}

}  // namespace

namespace {

/** Max (padding never wins) or average (over the window's input positions only, as tfjs) pooling. */
template <bool kMax>
void pool_forward(const PoolGeometry& g, const float* x, float* y) {
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const Window win = window(g, oy, ox);
        float* out = y + ((b * g.oh + oy) * g.ow + ox) * g.c;
        std::fill(out, out + g.c, kMax ? -std::numeric_limits<float>::infinity() : 0.f);
        for (int64_t r = win.r0; r < win.r1; ++r)
          for (int64_t col = win.c0; col < win.c1; ++col) {
            const float* in = x + ((b * g.ih + r) * g.iw + col) * g.c;
            for (int64_t ch = 0; ch < g.c; ++ch) out[ch] = kMax ? std::max(out[ch], in[ch]) : out[ch] + in[ch];
          }
        if (!kMax) {
          const float scale = 1.f / float((win.r1 - win.r0) * (win.c1 - win.c0));
          for (int64_t ch = 0; ch < g.c; ++ch) out[ch] *= scale;
        }
      }
}

/**
 * Zeroes dx, then runs `row(b, oy)` for every image and output row, each adding its windows' gradients into dx:
 * race-free and in parallel because the rows of one phase (oy ≡ phase mod ceil(kh / sh)) read disjoint input rows,
 * so threads split images × rows (a batch of one still uses every thread) and the phases run in order. The order
 * of the additions into an element does not depend on the thread count.
 */
template <typename F>
void scatter_rows(const PoolGeometry& g, float* dx, F&& row) {
  const int64_t phases = (g.kh + g.sh - 1) / g.sh;
  const int64_t width = g.iw * g.c;
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < g.n * g.ih; ++r) std::fill(dx + r * width, dx + (r + 1) * width, 0.f);
    for (int64_t phase = 0; phase < phases; ++phase) {
      const int64_t rows = (g.oh - phase + phases - 1) / phases;
#pragma omp for collapse(2) schedule(static)
      for (int64_t b = 0; b < g.n; ++b)
        for (int64_t j = 0; j < rows; ++j) row(b, phase + j * phases);
    }
  }
}

}  // namespace

void max_pool_forward(const PoolGeometry& g, const float* x, float* y) { pool_forward<true>(g, x, y); }

void max_pool_backward(const PoolGeometry& g, const float* x, const float* dy, float* dx) {
  scatter_rows(g, dx, [&](int64_t b, int64_t oy) {
    // Per channel, the window's first maximum as its offset from the window's start, picked with masks rather than
    // branches so that the compiler vectorises it: random activations made the branch mispredict (8× slower). A NaN
    // never compares greater, so a NaN first element stays the pick, as before.
    thread_local std::vector<float> best_values;
    thread_local std::vector<int32_t> best_positions;
    best_values.resize(g.c);
    best_positions.resize(g.c);
    float* __restrict best = best_values.data();
    int32_t* __restrict at = best_positions.data();
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const Window win = window(g, oy, ox);
      const int64_t start = ((b * g.ih + win.r0) * g.iw + win.c0) * g.c;
      for (int64_t ch = 0; ch < g.c; ++ch) best[ch] = x[start + ch], at[ch] = 0;
      for (int64_t r = win.r0; r < win.r1; ++r)
        for (int64_t col = win.c0; col < win.c1; ++col) {
          const int32_t offset = int32_t(((r - win.r0) * g.iw + (col - win.c0)) * g.c);
          const float* __restrict in = x + start + offset;
          for (int64_t ch = 0; ch < g.c; ++ch) {
            const float v = in[ch], current = best[ch];
            const int32_t keep = -int32_t(!(v > current));  // all ones where the current pick stays
            best[ch] = v > current ? v : current;
            at[ch] = (at[ch] & keep) | (offset & ~keep);
          }
        }
      const float* grad = dy + ((b * g.oh + oy) * g.ow + ox) * g.c;
      for (int64_t ch = 0; ch < g.c; ++ch) dx[start + at[ch] + ch] += grad[ch];
    }
  });
}

void avg_pool_forward(const PoolGeometry& g, const float* x, float* y) { pool_forward<false>(g, x, y); }

void avg_pool_backward(const PoolGeometry& g, const float* dy, float* dx) {
  scatter_rows(g, dx, [&](int64_t b, int64_t oy) {
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const Window win = window(g, oy, ox);
      const float scale = 1.f / float((win.r1 - win.r0) * (win.c1 - win.c0));
      const float* grad = dy + ((b * g.oh + oy) * g.ow + ox) * g.c;
      for (int64_t r = win.r0; r < win.r1; ++r)
        for (int64_t col = win.c0; col < win.c1; ++col) {
          float* in = dx + ((b * g.ih + r) * g.iw + col) * g.c;
          for (int64_t ch = 0; ch < g.c; ++ch) in[ch] += grad[ch] * scale;
        }
    }
  });
}

namespace {

// Channel statistics in double, channels innermost (contiguous), rows split into fixed blocks so the sum's
// order never depends on the thread count.
constexpr int64_t kRowBlock = 256;

void channel_sums(int64_t rows, int64_t c, const float* __restrict a, const float* __restrict b, double* sum_a,
                  double* sum_ab) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  std::vector<double> partial(static_cast<size_t>(blocks * c * 2), 0.0);
#pragma omp parallel for
  for (int64_t blk = 0; blk < blocks; ++blk) {
    double* __restrict pa = partial.data() + blk * c * 2;
    double* __restrict pab = pa + c;
    const int64_t end = std::min(rows, (blk + 1) * kRowBlock);
    for (int64_t r = blk * kRowBlock; r < end; ++r) {
      const float* __restrict ra = a + r * c;
      const float* __restrict rb = b + r * c;
      // Channels innermost and independent: vectorised.
      for (int64_t ch = 0; ch < c; ++ch) {
        pa[ch] += ra[ch];
        pab[ch] += double(ra[ch]) * rb[ch];
      }
    }
  }
  std::fill(sum_a, sum_a + c, 0.0);
  std::fill(sum_ab, sum_ab + c, 0.0);
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t ch = 0; ch < c; ++ch) {
      sum_a[ch] += partial[blk * c * 2 + ch];
      sum_ab[ch] += partial[blk * c * 2 + c + ch];
    }
}

}  // namespace

void batch_norm_forward(int64_t rows, int64_t c, float eps, const float* x, const float* gamma, const float* beta,
                        float* y, float* mean, float* variance) {
  std::vector<double> sum(c), sum_sq(c);
  channel_sums(rows, c, x, x, sum.data(), sum_sq.data());
  std::vector<float> scale(c), shift(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    const double mu = sum[ch] / rows;
    const double var = std::max(0.0, sum_sq[ch] / rows - mu * mu);
    mean[ch] = float(mu);
    variance[ch] = float(var);
    scale[ch] = float(gamma[ch] / std::sqrt(var + eps));
    shift[ch] = float(beta[ch] - mu * scale[ch]);
  }
  const float* __restrict sc = scale.data();
  const float* __restrict sh = shift.data();
#pragma omp parallel for
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict in = x + r * c;
    float* __restrict out = y + r * c;
    for (int64_t ch = 0; ch < c; ++ch) out[ch] = in[ch] * sc[ch] + sh[ch];
  }
}

void batch_norm_inference(int64_t rows, int64_t c, double eps, const float* x, const float* mean, const float* variance,
                          const float* gamma, const float* beta, float* y) {
  std::vector<double> root(c);
  for (int64_t ch = 0; ch < c; ++ch) root[ch] = std::sqrt(double(variance[ch]) + eps);
  const double* __restrict sd = root.data();
#pragma omp parallel for if (rows * c >= (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict in = x + r * c;
    float* __restrict out = y + r * c;
    for (int64_t ch = 0; ch < c; ++ch) out[ch] = float(double(beta[ch]) + (double(in[ch]) - double(mean[ch])) * double(gamma[ch]) / sd[ch]);
  }
}

void batch_norm_backward(int64_t rows, int64_t c, float eps, bool batch_statistics, const float* x, const float* dy,
                         const float* gamma, const float* mean, const float* variance, float* dx, float* dgamma,
                         float* dbeta) {
  std::vector<double> sum_dy(c), sum_dy_x(c);
  channel_sums(rows, c, dy, x, sum_dy.data(), sum_dy_x.data());
  std::vector<float> a(c), b(c), d(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    const double inv_std = 1.0 / std::sqrt(double(variance[ch]) + eps);
    // Σ dy·x̂ = (Σ dy·x − μ Σ dy) / σ
    const double dy_xhat = (sum_dy_x[ch] - mean[ch] * sum_dy[ch]) * inv_std;
    dgamma[ch] = float(dy_xhat);
    dbeta[ch] = float(sum_dy[ch]);
    // dx = γ/σ · (dy − Σdy/m − x̂ · Σ(dy·x̂)/m), x̂ = (x − μ)/σ
    const double k = gamma[ch] * inv_std;
    a[ch] = float(k);
    b[ch] = batch_statistics ? float(k * inv_std * dy_xhat / rows) : 0.f;
    d[ch] = batch_statistics ? float(-k * sum_dy[ch] / rows + k * inv_std * dy_xhat / rows * mean[ch]) : 0.f;
  }
  const float* __restrict pa = a.data();
  const float* __restrict pb = b.data();
  const float* __restrict pd = d.data();
#pragma omp parallel for
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict gy = dy + r * c;
    const float* __restrict in = x + r * c;
    float* __restrict out = dx + r * c;
    for (int64_t ch = 0; ch < c; ++ch) out[ch] = pa[ch] * gy[ch] - pb[ch] * in[ch] + pd[ch];
  }
}

void set_threads(int threads) { omp_set_num_threads(threads); }
int threads() { return omp_get_max_threads(); }

std::string library_version() {
  const dnnl_version_t* v = dnnl::version();
  std::ostringstream out;
  out << "oneDNN " << v->major << '.' << v->minor << '.' << v->patch;
  return out.str();
}

std::string cpu_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::sse41: return "sse41";
    default: return "other";
  }
}

}  // namespace fiveband
