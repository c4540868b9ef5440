// N-API face of the kernels: every array is a Float32Array the caller (V8) owns, outputs included, so no
// native memory outlives a call and the garbage collector sees every tensor's size.
#include <malloc.h>
#include <napi.h>

#include <array>
#include <string>
#include <vector>

#include "kernels.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace {

using fiveband::ConvGeometry;
using fiveband::PoolGeometry;

bool fail(const Napi::Env& env, const std::string& message) {
  Napi::TypeError::New(env, "fiveband native: " + message).ThrowAsJavaScriptException();
  return false;
}

/** The float32 array at `index` with exactly `size` elements (or null where `optional`). */
bool float_array(const Napi::CallbackInfo& info, size_t index, size_t size, float** out, bool optional = false) {
  Napi::Value value = info[index];
  if (optional && (value.IsNull() || value.IsUndefined())) {
    *out = nullptr;
    return true;
  }
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    return fail(info.Env(), "argument " + std::to_string(index) + " must be a Float32Array");
  auto array = value.As<Napi::Float32Array>();
  if (array.ElementLength() != size)
    return fail(info.Env(), "argument " + std::to_string(index) + " has " + std::to_string(array.ElementLength()) +
                                " elements, expected " + std::to_string(size));
  *out = array.Data();
  return true;
}

/** `count` integers from the array at `index`. */
template <size_t count>
bool integers(const Napi::CallbackInfo& info, size_t index, std::array<int64_t, count>* out) {
  if (!info[index].IsArray()) return fail(info.Env(), "argument " + std::to_string(index) + " must be an array");
  auto array = info[index].As<Napi::Array>();
  if (array.Length() != count) return fail(info.Env(), "argument " + std::to_string(index) + " must hold " + std::to_string(count) + " integers");
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value v = array[i];
    if (!v.IsNumber()) return fail(info.Env(), "argument " + std::to_string(index) + " must hold integers");
    (*out)[i] = v.As<Napi::Number>().Int64Value();
    if ((*out)[i] < 0) return fail(info.Env(), "negative geometry in argument " + std::to_string(index));
  }
  return true;
}

bool conv_geometry(const Napi::CallbackInfo& info, size_t index, ConvGeometry* g) {
  std::array<int64_t, 17> v;
  if (!integers(info, index, &v)) return false;
  *g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
  if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1) return fail(info.Env(), "strides and dilations must be ≥ 1");
  return true;
}

bool pool_geometry(const Napi::CallbackInfo& info, size_t index, PoolGeometry* g) {
  std::array<int64_t, 14> v;
  if (!integers(info, index, &v)) return false;
  *g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]};
  if (g->sh < 1 || g->sw < 1 || g->kh < 1 || g->kw < 1) return fail(info.Env(), "pool strides and windows must be ≥ 1");
  return true;
}

/** Runs a oneDNN call, turning its exceptions into JavaScript errors. */
template <typename F>
Napi::Value guarded(const Napi::Env& env, F&& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    Napi::Error::New(env, std::string("fiveband native: oneDNN: ") + e.what()).ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, std::string("fiveband native: ") + e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

size_t input_size(const ConvGeometry& g) { return g.n * g.ih * g.iw * g.ic; }
size_t output_size(const ConvGeometry& g) { return g.n * g.oh * g.ow * g.oc; }
size_t filter_size(const ConvGeometry& g) { return g.kh * g.kw * g.ic * g.oc; }

int64_t filter_id(const Napi::CallbackInfo& info, size_t index) {
  return info[index].IsNumber() ? info[index].As<Napi::Number>().Int64Value() : 0;
}

// conv2d(x, w, bias | null, relu, y, geometry, filterId)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  ConvGeometry g;
  float *x, *w, *bias, *y;
  if (!conv_geometry(info, 5, &g) || !float_array(info, 0, input_size(g), &x) || !float_array(info, 1, filter_size(g), &w) ||
      !float_array(info, 2, g.oc, &bias, true) || !float_array(info, 4, output_size(g), &y))
    return info.Env().Undefined();
  const bool relu = info[3].ToBoolean();
  const int64_t id = filter_id(info, 6);
  return guarded(info.Env(), [&] { fiveband::conv2d_forward(g, x, w, id, bias, relu, y); });
}

// conv2dBackwardData(dy, w, dx, geometry, filterId)
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  ConvGeometry g;
  float *dy, *w, *dx;
  if (!conv_geometry(info, 3, &g) || !float_array(info, 0, output_size(g), &dy) || !float_array(info, 1, filter_size(g), &w) ||
      !float_array(info, 2, input_size(g), &dx))
    return info.Env().Undefined();
  const int64_t id = filter_id(info, 4);
  return guarded(info.Env(), [&] { fiveband::conv2d_backward_data(g, dy, w, id, dx); });
}

// releaseFilter(filterId)
Napi::Value ReleaseFilter(const Napi::CallbackInfo& info) {
  fiveband::release_filter(filter_id(info, 0));
  return info.Env().Undefined();
}

// conv2dBackwardWeights(x, dy, dw, geometry)
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  ConvGeometry g;
  float *x, *dy, *dw;
  if (!conv_geometry(info, 3, &g) || !float_array(info, 0, input_size(g), &x) || !float_array(info, 1, output_size(g), &dy) ||
      !float_array(info, 2, filter_size(g), &dw))
    return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::conv2d_backward_weights(g, x, dy, dw); });
}

// matmul(a, b, out, [batchA, batchB, m, k, n, transA, transB])
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  std::array<int64_t, 7> v;
  float *a, *b, *out;
  if (!integers(info, 3, &v)) return info.Env().Undefined();
  const auto [batch_a, batch_b, m, k, n, trans_a, trans_b] = v;
  if (batch_a != batch_b && batch_a != 1 && batch_b != 1) {
    fail(info.Env(), "matmul batches must be equal or 1");
    return info.Env().Undefined();
  }
  if (!float_array(info, 0, batch_a * m * k, &a) || !float_array(info, 1, batch_b * k * n, &b) ||
      !float_array(info, 2, std::max(batch_a, batch_b) * m * n, &out))
    return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::matmul(batch_a, batch_b, m, k, n, trans_a != 0, trans_b != 0, a, b, out); });
}

size_t pool_input(const PoolGeometry& g) { return g.n * g.ih * g.iw * g.c; }
size_t pool_output(const PoolGeometry& g) { return g.n * g.oh * g.ow * g.c; }

// maxPool(x, y, geometry), avgPool(x, y, geometry)
template <void (*kernel)(const PoolGeometry&, const float*, float*)>
Napi::Value Pool(const Napi::CallbackInfo& info) {
  PoolGeometry g;
  float *x, *y;
  if (!pool_geometry(info, 2, &g) || !float_array(info, 0, pool_input(g), &x) || !float_array(info, 1, pool_output(g), &y))
    return info.Env().Undefined();
  return guarded(info.Env(), [&] { kernel(g, x, y); });
}

// maxPoolBackward(x, dy, dx, geometry)
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  PoolGeometry g;
  float *x, *dy, *dx;
  if (!pool_geometry(info, 3, &g) || !float_array(info, 0, pool_input(g), &x) || !float_array(info, 1, pool_output(g), &dy) ||
      !float_array(info, 2, pool_input(g), &dx))
    return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::max_pool_backward(g, x, dy, dx); });
}

// avgPoolBackward(dy, dx, geometry)
Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) {
  PoolGeometry g;
  float *dy, *dx;
  if (!pool_geometry(info, 2, &g) || !float_array(info, 0, pool_output(g), &dy) || !float_array(info, 1, pool_input(g), &dx))
    return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::avg_pool_backward(g, dy, dx); });
}

// batchNormForward(x, gamma, beta, y, mean, variance, [rows, channels], eps)
Napi::Value BatchNormForward(const Napi::CallbackInfo& info) {
  std::array<int64_t, 2> v;
  float *x, *gamma, *beta, *y, *mean, *variance;
  if (!integers(info, 6, &v)) return info.Env().Undefined();
  const auto [rows, c] = v;
  if (!float_array(info, 0, rows * c, &x) || !float_array(info, 1, c, &gamma) || !float_array(info, 2, c, &beta) ||
      !float_array(info, 3, rows * c, &y) || !float_array(info, 4, c, &mean) || !float_array(info, 5, c, &variance))
    return info.Env().Undefined();
  const float eps = info[7].As<Napi::Number>().FloatValue();
  return guarded(info.Env(), [&] { fiveband::batch_norm_forward(rows, c, eps, x, gamma, beta, y, mean, variance); });
}

// batchNormInference(x, mean, variance, gamma, beta, y, [rows, channels], eps)
Napi::Value BatchNormInference(const Napi::CallbackInfo& info) {
  std::array<int64_t, 2> v;
  float *x, *mean, *variance, *gamma, *beta, *y;
  if (!integers(info, 6, &v)) return info.Env().Undefined();
  const auto [rows, c] = v;
  if (!float_array(info, 0, rows * c, &x) || !float_array(info, 1, c, &mean) || !float_array(info, 2, c, &variance) ||
      !float_array(info, 3, c, &gamma) || !float_array(info, 4, c, &beta) || !float_array(info, 5, rows * c, &y))
    return info.Env().Undefined();
  const double eps = info[7].As<Napi::Number>().DoubleValue();
  return guarded(info.Env(), [&] { fiveband::batch_norm_inference(rows, c, eps, x, mean, variance, gamma, beta, y); });
}

// batchNormBackward(x, dy, gamma, mean, variance, dx, dgamma, dbeta, [rows, channels], eps, batchStatistics)
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  std::array<int64_t, 2> v;
  float *x, *dy, *gamma, *mean, *variance, *dx, *dgamma, *dbeta;
  if (!integers(info, 8, &v)) return info.Env().Undefined();
  const auto [rows, c] = v;
  if (!float_array(info, 0, rows * c, &x) || !float_array(info, 1, rows * c, &dy) || !float_array(info, 2, c, &gamma) ||
      !float_array(info, 3, c, &mean) || !float_array(info, 4, c, &variance) || !float_array(info, 5, rows * c, &dx) ||
      !float_array(info, 6, c, &dgamma) || !float_array(info, 7, c, &dbeta))
    return info.Env().Undefined();
  const float eps = info[9].As<Napi::Number>().FloatValue();
  const bool batch_statistics = info[10].ToBoolean();
  return guarded(info.Env(), [&] {
    fiveband::batch_norm_backward(rows, c, eps, batch_statistics, x, dy, gamma, mean, variance, dx, dgamma, dbeta);
  });
}


/** Up to 8 non-negative integers from the array at `index` (shapes, strides, offsets). */
bool int_list(const Napi::CallbackInfo& info, size_t index, std::vector<int64_t>* out) {
  if (!info[index].IsArray()) return fail(info.Env(), "argument " + std::to_string(index) + " must be an array");
  auto array = info[index].As<Napi::Array>();
  if (array.Length() < 1 || array.Length() > 8) return fail(info.Env(), "argument " + std::to_string(index) + " must hold 1 to 8 integers");
  out->resize(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array[i];
    if (!v.IsNumber() || v.As<Napi::Number>().Int64Value() < 0) return fail(info.Env(), "argument " + std::to_string(index) + " must hold non-negative integers");
    (*out)[i] = v.As<Napi::Number>().Int64Value();
  }
  return true;
}

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

/** Elements an input addressed by `strides` over `shape` spans (0 strides: broadcast). */
int64_t span(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  int64_t last = 0;
  for (size_t d = 0; d < shape.size(); ++d) if (shape[d] == 0) return 0; else last += (shape[d] - 1) * strides[d];
  return last + 1;
}

bool op_code(const Napi::CallbackInfo& info, size_t index, int count, int* out) {
  if (!info[index].IsNumber()) return fail(info.Env(), "operation code must be a number");
  *out = info[index].As<Napi::Number>().Int32Value();
  if (*out < 0 || *out >= count) return fail(info.Env(), "unknown operation code");
  return true;
}

/** The shared arguments of binary and compare: op code, operands, the walked shape and both operands' strides. */
struct BroadcastArgs {
  int op;
  std::vector<int64_t> shape, as, bs;
  float *a, *b;
};

bool broadcast_args(const Napi::CallbackInfo& info, int op_count, BroadcastArgs* args) {
  if (!op_code(info, 0, op_count, &args->op) || !int_list(info, 4, &args->shape) || !int_list(info, 5, &args->as) ||
      !int_list(info, 6, &args->bs))
    return false;
  if (args->as.size() != args->shape.size() || args->bs.size() != args->shape.size())
    return fail(info.Env(), "strides must match the output rank");
  return float_array(info, 1, span(args->shape, args->as), &args->a) && float_array(info, 2, span(args->shape, args->bs), &args->b);
}

// binary(op, a, b, out, shape, aStrides, bStrides)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  BroadcastArgs args;
  float* out;
  if (!broadcast_args(info, 7, &args) || !float_array(info, 3, product(args.shape), &out)) return info.Env().Undefined();
  return guarded(info.Env(), [&] {
    fiveband::binary(static_cast<fiveband::BinaryOp>(args.op), int(args.shape.size()), args.shape.data(), args.as.data(),
                     args.bs.data(), args.a, args.b, out);
  });
}

// compare(op, a, b, out: Uint8Array, shape, aStrides, bStrides)
Napi::Value Compare(const Napi::CallbackInfo& info) {
  BroadcastArgs args;
  if (!broadcast_args(info, 6, &args)) return info.Env().Undefined();
  Napi::Value value = info[3];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      int64_t(value.As<Napi::Uint8Array>().ElementLength()) != product(args.shape)) {
    fail(info.Env(), "argument 3 must be a Uint8Array of the output's size");
    return info.Env().Undefined();
  }
  uint8_t* out = value.As<Napi::Uint8Array>().Data();
  return guarded(info.Env(), [&] {
    fiveband::compare(static_cast<fiveband::CompareOp>(args.op), int(args.shape.size()), args.shape.data(), args.as.data(),
                      args.bs.data(), args.a, args.b, out);
  });
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op;
  if (!op_code(info, 0, 9, &op)) return info.Env().Undefined();
  if (!info[1].IsTypedArray()) { fail(info.Env(), "argument 1 must be a Float32Array"); return info.Env().Undefined(); }
  const size_t size = info[1].As<Napi::TypedArray>().ElementLength();
  float *x, *out;
  if (!float_array(info, 1, size, &x) || !float_array(info, 2, size, &out)) return info.Env().Undefined();
  const float alpha = info[3].IsNumber() ? info[3].As<Napi::Number>().FloatValue() : 0.f;
  return guarded(info.Env(), [&] { fiveband::unary(static_cast<fiveband::UnaryOp>(op), int64_t(size), alpha, x, out); });
}

// reduce(op, x, out, [outer, length, inner])
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  int op;
  std::array<int64_t, 3> v;
  float *x, *out;
  if (!op_code(info, 0, 4, &op) || !integers(info, 3, &v)) return info.Env().Undefined();
  const auto [outer, length, inner] = v;
  if (length < 1) { fail(info.Env(), "cannot reduce over an empty axis"); return info.Env().Undefined(); }
  if (!float_array(info, 1, outer * length * inner, &x) || !float_array(info, 2, outer * inner, &out)) return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::reduce(static_cast<fiveband::ReduceOp>(op), outer, length, inner, x, out); });
}

// slice(x, out, shape, begin, size)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  std::vector<int64_t> shape, begin, size;
  float *x, *out;
  if (!int_list(info, 2, &shape) || !int_list(info, 3, &begin) || !int_list(info, 4, &size)) return info.Env().Undefined();
  for (size_t d = 0; d < shape.size(); ++d)
    if (begin.size() != shape.size() || size.size() != shape.size() || begin[d] + size[d] > shape[d]) {
      fail(info.Env(), "slice out of bounds");
      return info.Env().Undefined();
    }
  if (!float_array(info, 0, product(shape), &x) || !float_array(info, 1, product(size), &out)) return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::slice(int(shape.size()), shape.data(), begin.data(), size.data(), x, out); });
}

// transpose(x, out, shape, perm)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  std::vector<int64_t> shape, perm;
  float *x, *out;
  if (!int_list(info, 2, &shape) || !int_list(info, 3, &perm)) return info.Env().Undefined();
  std::vector<bool> seen(shape.size(), false);
  bool permutation = perm.size() == shape.size();
  for (size_t d = 0; permutation && d < perm.size(); ++d) {
    permutation = perm[d] < int64_t(shape.size()) && !seen[perm[d]];
    if (permutation) seen[perm[d]] = true;
  }
  if (!permutation) {
    fail(info.Env(), "perm is not a permutation of the dims");
    return info.Env().Undefined();
  }
  if (!float_array(info, 0, product(shape), &x) || !float_array(info, 1, product(shape), &out)) return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::transpose(int(shape.size()), shape.data(), perm.data(), x, out); });
}

// pad(x, out, shape, before, outShape, value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  std::vector<int64_t> shape, before, out_shape;
  float *x, *out;
  if (!int_list(info, 2, &shape) || !int_list(info, 3, &before) || !int_list(info, 4, &out_shape)) return info.Env().Undefined();
  for (size_t d = 0; d < shape.size(); ++d)
    if (before.size() != shape.size() || out_shape.size() != shape.size() || before[d] + shape[d] > out_shape[d]) {
      fail(info.Env(), "padding does not fit the output");
      return info.Env().Undefined();
    }
  if (!float_array(info, 0, product(shape), &x) || !float_array(info, 1, product(out_shape), &out)) return info.Env().Undefined();
  const float value = info[5].As<Napi::Number>().FloatValue();
  return guarded(info.Env(), [&] { fiveband::pad(int(shape.size()), shape.data(), before.data(), out_shape.data(), value, x, out); });
}

// softmax(x, out, [rows, length])
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  std::array<int64_t, 2> v;
  float *x, *out;
  if (!integers(info, 2, &v) || !float_array(info, 0, v[0] * v[1], &x) || !float_array(info, 1, v[0] * v[1], &out)) return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::softmax(v[0], v[1], x, out); });
}

// reluGrad(dy, x, dx)
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  if (!info[1].IsTypedArray()) { fail(info.Env(), "argument 1 must be a Float32Array"); return info.Env().Undefined(); }
  const size_t size = info[1].As<Napi::TypedArray>().ElementLength();
  float *dy, *x, *dx;
  if (!float_array(info, 0, size, &dy) || !float_array(info, 1, size, &x) || !float_array(info, 2, size, &dx)) return info.Env().Undefined();
  return guarded(info.Env(), [&] { fiveband::relu_grad(int64_t(size), dy, x, dx); });
}

// stabilisedDivide(a, b, out, eps)
Napi::Value StabilisedDivide(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) { fail(info.Env(), "argument 0 must be a Float32Array"); return info.Env().Undefined(); }
  const size_t size = info[0].As<Napi::TypedArray>().ElementLength();
  float *a, *b, *out;
  if (!float_array(info, 0, size, &a) || !float_array(info, 1, size, &b) || !float_array(info, 2, size, &out)) return info.Env().Undefined();
  const float eps = info[3].As<Napi::Number>().FloatValue();
  return guarded(info.Env(), [&] { fiveband::stabilised_divide(int64_t(size), a, b, eps, out); });
}

// fillNormal(state (Uint32Array of 4), out, mean, sd, x (Float64Array of 129), ratio (Float64Array of 128), r)
Napi::Value FillNormal(const Napi::CallbackInfo& info) {
  const auto typed = [&](size_t i, napi_typedarray_type type, size_t length) {
    return info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == type &&
           info[i].As<Napi::TypedArray>().ElementLength() == length;
  };
  if (!typed(0, napi_uint32_array, 4) || !info[1].IsTypedArray() || !typed(4, napi_float64_array, 129) ||
      !typed(5, napi_float64_array, 128)) {
    fail(info.Env(), "fillNormal(state: Uint32Array(4), out: Float32Array, mean, sd, x: Float64Array(129), ratio: Float64Array(128), r)");
    return info.Env().Undefined();
  }
  float* out;
  if (!float_array(info, 1, info[1].As<Napi::TypedArray>().ElementLength(), &out)) return info.Env().Undefined();
  const int64_t size = int64_t(info[1].As<Napi::TypedArray>().ElementLength());
  uint32_t* state = info[0].As<Napi::Uint32Array>().Data();
  const double* x = info[4].As<Napi::Float64Array>().Data();
  const double* ratio = info[5].As<Napi::Float64Array>().Data();
  const double mean = info[2].As<Napi::Number>().DoubleValue(), sd = info[3].As<Napi::Number>().DoubleValue();
  const double r = info[6].As<Napi::Number>().DoubleValue();
  return guarded(info.Env(), [&] { fiveband::fill_normal(state, out, size, mean, sd, x, ratio, r); });
}

// segmentSum(x, ids (Int32Array), out, [count, inner, segments])
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  std::array<int64_t, 3> v;
  if (!integers(info, 3, &v)) return info.Env().Undefined();
  float *x, *out;
  if (!float_array(info, 0, v[0] * v[1], &x) || !float_array(info, 2, v[2] * v[1], &out)) return info.Env().Undefined();
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[1].As<Napi::TypedArray>().ElementLength() != size_t(v[0])) {
    fail(info.Env(), "argument 1 must be an Int32Array of one segment id per row");
    return info.Env().Undefined();
  }
  const int32_t* ids = info[1].As<Napi::Int32Array>().Data();
  return guarded(info.Env(), [&] { fiveband::segment_sum(v[0], v[1], v[2], ids, x, out); });
}

// deepLiftRescale(dy, x, y, plain | null, out, slope, eps)
Napi::Value DeepLiftRescale(const Napi::CallbackInfo& info) {
  if (!info[1].IsTypedArray()) { fail(info.Env(), "argument 1 must be a Float32Array"); return info.Env().Undefined(); }
  const size_t size = info[1].As<Napi::TypedArray>().ElementLength();
  float *dy, *x, *y, *plain, *out;
  if (!float_array(info, 0, size, &dy) || !float_array(info, 1, size, &x) || !float_array(info, 2, size, &y) ||
      !float_array(info, 3, size, &plain, true) || !float_array(info, 4, size, &out))
    return info.Env().Undefined();
  if (size % 2 != 0) { fail(info.Env(), "deepLiftRescale needs inputs and references (an even size)"); return info.Env().Undefined(); }
  const float slope = info[5].As<Napi::Number>().FloatValue(), eps = info[6].As<Napi::Number>().FloatValue();
  return guarded(info.Env(), [&] { fiveband::deeplift_rescale(int64_t(size), dy, x, y, plain, slope, eps, out); });
}

// deepLiftMaxPool(input, output, dy, grad, geometry (Int32Array), [rows, height, width, channels, outHeight, outWidth], eps)
Napi::Value DeepLiftMaxPool(const Napi::CallbackInfo& info) {
  std::array<int64_t, 6> v;
  if (!integers(info, 5, &v)) return info.Env().Undefined();
  const fiveband::DeepLiftPoolShape s{v[0], v[1], v[2], v[3], v[4], v[5]};
  if (s.rows % 2 != 0) { fail(info.Env(), "deepLiftMaxPool needs inputs and references (even rows)"); return info.Env().Undefined(); }
  float *input, *output, *dy, *grad;
  const size_t in_size = s.rows * s.height * s.width * s.channels, out_size = s.rows * s.out_height * s.out_width * s.channels;
  if (!float_array(info, 0, in_size, &input) || !float_array(info, 1, out_size, &output) || !float_array(info, 2, out_size, &dy) ||
      !float_array(info, 3, in_size, &grad))
    return info.Env().Undefined();
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[4].As<Napi::TypedArray>().ElementLength() != size_t(2 * (s.out_height + s.out_width))) {
    fail(info.Env(), "argument 4 must be an Int32Array of 2 × (outHeight + outWidth) window bounds");
    return info.Env().Undefined();
  }
  const int32_t* geometry = info[4].As<Napi::Int32Array>().Data();
  for (int64_t i = 0; i < 2 * (s.out_height + s.out_width); ++i) {
    if (geometry[i] < 0 || geometry[i] >= (i < 2 * s.out_height ? s.height : s.width)) {
      fail(info.Env(), "deepLiftMaxPool: a window lies outside the input");
      return info.Env().Undefined();
    }
  }
  const float eps = info[6].As<Napi::Number>().FloatValue();
  return guarded(info.Env(), [&] { fiveband::deeplift_max_pool(s, geometry, input, output, dy, eps, grad); });
}

// adamUpdate(value, grad, m, v, valueOut, mOut, vOut, [beta1, beta2, weightDecay, stepSize, sqrtBias2, eps])
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) { fail(info.Env(), "argument 0 must be a Float32Array"); return info.Env().Undefined(); }
  const size_t size = info[0].As<Napi::TypedArray>().ElementLength();
  float* p[7];
  for (size_t i = 0; i < 7; ++i) if (!float_array(info, i, size, &p[i])) return info.Env().Undefined();
  if (!info[7].IsArray() || info[7].As<Napi::Array>().Length() != 6) { fail(info.Env(), "Adam needs 6 coefficients"); return info.Env().Undefined(); }
  double c[6];
  for (uint32_t i = 0; i < 6; ++i) c[i] = info[7].As<Napi::Array>().Get(i).As<Napi::Number>().DoubleValue();
  return guarded(info.Env(), [&] {
    fiveband::adam_update(int64_t(size), p[0], p[1], p[2], p[3], p[4], p[5], p[6], c[0], c[1], c[2], c[3], c[4], c[5]);
  });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < 1) {
    fail(info.Env(), "threads must be a positive integer");
    return info.Env().Undefined();
  }
  fiveband::set_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value Describe(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("library", fiveband::library_version());
  out.Set("isa", fiveband::cpu_isa());
  out.Set("threads", fiveband::threads());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // V8 allocates tensors with calloc: above glibc's mmap threshold every large tensor is an mmap and its
  // release a munmap (page faults on every step). Keep them in the heap and let freed memory be reused.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, Conv2dBackwardData));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, Conv2dBackwardWeights));
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  exports.Set("maxPool", Napi::Function::New(env, Pool<fiveband::max_pool_forward>));
  exports.Set("avgPool", Napi::Function::New(env, Pool<fiveband::avg_pool_forward>));
  exports.Set("maxPoolBackward", Napi::Function::New(env, MaxPoolBackward));
  exports.Set("avgPoolBackward", Napi::Function::New(env, AvgPoolBackward));
  exports.Set("batchNormForward", Napi::Function::New(env, BatchNormForward));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward));
  exports.Set("batchNormInference", Napi::Function::New(env, BatchNormInference));
  exports.Set("releaseFilter", Napi::Function::New(env, ReleaseFilter));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("compare", Napi::Function::New(env, Compare));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("stabilisedDivide", Napi::Function::New(env, StabilisedDivide));
  exports.Set("fillNormal", Napi::Function::New(env, FillNormal));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("deepLiftRescale", Napi::Function::New(env, DeepLiftRescale));
  exports.Set("deepLiftMaxPool", Napi::Function::New(env, DeepLiftMaxPool));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("describe", Napi::Function::New(env, Describe));
  return exports;
}

}  // namespace

NODE_API_MODULE(fiveband_native, Init)
