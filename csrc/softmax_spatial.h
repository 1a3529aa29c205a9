/* Float32 softmax and log-softmax forwards over axis 1 of an (n_samples,
 * n_classes, size) map with size > 1 (nnfast/_kernels/softmax.pyx), for a
 * thread's range [lo, hi) of the n_samples * size vectors along axis 1
 * (vector r: sample r / size, position r % size; its classes size apart).
 *
 * softmax_spatial_f32:     out := exp(x - max) / sum(exp(x - max))
 * log_softmax_spatial_f32: out := (x - max) - log(sum(exp(x - max)))
 *
 * A vector at a time, the C classes' loads are C scattered floats and each
 * exp a scalar libm call (~10 ns an element). These walk a block of up to
 * 256 consecutive positions of one sample instead: the elementwise max of
 * the classes' rows, then exp(x - max) along the block, with fast_gates.h's
 * polynomial exp (its argument is never positive), so every loop runs
 * along contiguous memory and vectorizes. Per position the work is that of
 * the one-vector kernel: the same max, the sum in double in class order,
 * then one scale or one log. No result depends on where a block or a
 * thread's range starts, so none depends on the thread count.
 *
 * Compiled in target clones (nnfast_clones.h). */
#ifndef NNFAST_SOFTMAX_SPATIAL_H
#define NNFAST_SOFTMAX_SPATIAL_H

#include <stdint.h>

void softmax_spatial_f32(const float *x, float *out, int64_t n_classes, int64_t size,
                         int64_t lo, int64_t hi);
void log_softmax_spatial_f32(const float *x, float *out, int64_t n_classes, int64_t size,
                             int64_t lo, int64_t hi);

#endif
