// The one CTorch function the safetensors header parser reaches (DType.elementSize),
// for the fuzz build only: the harness is compiled without libtorch, from the module
// sources, so that the parser itself is instrumented for coverage.
#include "ctorch.h"

size_t ct_element_size(ct_dtype dtype) {
    switch (dtype) {
    case CT_FLOAT64:
    case CT_INT64:
        return 8;
    case CT_FLOAT32:
    case CT_INT32:
        return 4;
    case CT_FLOAT16:
    case CT_BFLOAT16:
        return 2;
    default:
        return 1;
    }
}
