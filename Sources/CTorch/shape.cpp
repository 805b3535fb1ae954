// Shape, indexing and masking operations.
#include "bridge.h"

using ctorch::ints;
using ctorch::unwrap;

namespace {
std::vector<at::Tensor> tensors(const ct_tensor *handles, int count) {
    if (count <= 0) throw std::invalid_argument("expected at least one tensor");
    std::vector<at::Tensor> out;
    out.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) out.push_back(unwrap(handles[i]));
    return out;
}
}  // namespace

extern "C" {

ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim) { CT_TENSOR(unwrap(t).reshape(ints(shape, ndim))) }

ct_tensor ct_view(ct_tensor t, const int64_t *shape, int ndim) { CT_TENSOR(unwrap(t).view(ints(shape, ndim))) }

ct_tensor ct_permute(ct_tensor t, const int64_t *dims, int ndim) { CT_TENSOR(unwrap(t).permute(ints(dims, ndim))) }

ct_tensor ct_transpose(ct_tensor t, int64_t dim0, int64_t dim1) { CT_TENSOR(unwrap(t).transpose(dim0, dim1)) }

ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim) { CT_TENSOR(unwrap(t).unsqueeze(dim)) }

ct_tensor ct_squeeze(ct_tensor t, int64_t dim) { CT_TENSOR(unwrap(t).squeeze(dim)) }

ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end) { CT_TENSOR(unwrap(t).flatten(start, end)) }

ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim) { CT_TENSOR(unwrap(t).expand(ints(shape, ndim))) }

ct_tensor ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length) {
    CT_TENSOR(unwrap(t).narrow(dim, start, length))
}

ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index) { CT_TENSOR(unwrap(t).select(dim, index)) }

ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step) {
    CT_TENSOR(unwrap(t).slice(dim, start, end, step))
}

ct_tensor ct_cat(const ct_tensor *handles, int count, int64_t dim) { CT_TENSOR(at::cat(tensors(handles, count), dim)) }

ct_tensor ct_stack(const ct_tensor *handles, int count, int64_t dim) {
    CT_TENSOR(at::stack(tensors(handles, count), dim))
}

int ct_split(ct_tensor t, const int64_t *sizes, int count, int64_t dim, ct_tensor *out) {
    CT_GUARDED(-1, {
        auto pieces = unwrap(t).split_with_sizes(ints(sizes, count), dim);
        for (size_t i = 0; i < pieces.size(); ++i) out[i] = ctorch::wrap(std::move(pieces[i]));
        return static_cast<int>(pieces.size());
    })
}

ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index) {
    CT_TENSOR(unwrap(t).index_select(dim, unwrap(index)))
}

ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, double value) {
    CT_TENSOR(unwrap(t).masked_fill(unwrap(mask), value))
}

ct_tensor ct_masked_scatter(ct_tensor t, ct_tensor mask, ct_tensor source) {
    CT_TENSOR(unwrap(t).masked_scatter(unwrap(mask), unwrap(source)))
}

ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask) { CT_TENSOR(unwrap(t).masked_select(unwrap(mask))) }

ct_tensor ct_where(ct_tensor condition, ct_tensor a, ct_tensor b) {
    CT_TENSOR(at::where(unwrap(condition), unwrap(a), unwrap(b)))
}

ct_tensor ct_nonzero(ct_tensor t) { CT_TENSOR(unwrap(t).nonzero()) }

ct_tensor ct_pad(ct_tensor t, const int64_t *pads, int count, double value) {
    CT_TENSOR(at::constant_pad_nd(unwrap(t), ints(pads, count), value))
}

ct_tensor ct_repeat_interleave(ct_tensor t, int64_t repeats, int64_t dim) {
    CT_TENSOR(unwrap(t).repeat_interleave(repeats, dim))
}

}  // extern "C"
