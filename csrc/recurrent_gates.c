/* The recurrent gate loops in float and double: one generic body
 * (recurrent_gates_impl.h) compiled once per type, each function in
 * target clones (recurrent_gates.h). */
#include <string.h>

#include "fast_gates.h"
#include "recurrent_gates.h"

#define NNFAST_T float
#define NNFAST_FN(name) name##_f32
#define NNFAST_SIGMOID nnfast_sigmoid_f
#define NNFAST_TANH nnfast_tanh_f
#include "recurrent_gates_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_SIGMOID
#undef NNFAST_TANH

#define NNFAST_T double
#define NNFAST_FN(name) name##_f64
#define NNFAST_SIGMOID nnfast_sigmoid_d
#define NNFAST_TANH nnfast_tanh_d
#include "recurrent_gates_impl.h"
