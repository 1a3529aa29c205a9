# The gate loops of the recurrent kernels (csrc/recurrent_gates.h: one time
# step of one thread's block of batch rows, vectorized for the CPU it runs
# on), and one fused inline wrapper per C function: the float32 or float64
# twin is picked here, at compile time. recurrent.pyx names the C source in
# its ``# distutils: sources`` line.
from cython cimport floating
from libc.stdint cimport int64_t


cdef extern from "recurrent_gates.h" nogil:
    void lstm_forward_rows_f32(const float *x_proj, float *gates, const float *h_prev,
                               const float *c_prev, float *h, float *c,
                               const int64_t *lengths, int64_t step, int64_t rows,
                               int64_t hidden)
    void lstm_forward_rows_f64(const double *x_proj, double *gates, const double *h_prev,
                               const double *c_prev, double *h, double *c,
                               const int64_t *lengths, int64_t step, int64_t rows,
                               int64_t hidden)
    void lstm_backward_rows_f32(const float *gates, const float *c_prev, const float *c,
                                const float *grad_output, float *grad_h, float *grad_c,
                                float *grad_gates, const int64_t *lengths, int64_t step,
                                int64_t rows, int64_t hidden)
    void lstm_backward_rows_f64(const double *gates, const double *c_prev, const double *c,
                                const double *grad_output, double *grad_h, double *grad_c,
                                double *grad_gates, const int64_t *lengths, int64_t step,
                                int64_t rows, int64_t hidden)
    void gru_forward_rows_f32(const float *x_proj, const float *h_proj,
                              const float *bias_hh, const float *h_prev, float *gates,
                              float *h, const int64_t *lengths, int64_t step,
                              int64_t rows, int64_t hidden)
    void gru_forward_rows_f64(const double *x_proj, const double *h_proj,
                              const double *bias_hh, const double *h_prev, double *gates,
                              double *h, const int64_t *lengths, int64_t step,
                              int64_t rows, int64_t hidden)
    void gru_backward_rows_f32(const float *gates, const float *h_prev,
                               const float *grad_output, float *grad_h,
                               float *grad_x_gates, float *grad_h_gates,
                               const int64_t *lengths, int64_t step, int64_t rows,
                               int64_t hidden)
    void gru_backward_rows_f64(const double *gates, const double *h_prev,
                               const double *grad_output, double *grad_h,
                               double *grad_x_gates, double *grad_h_gates,
                               const int64_t *lengths, int64_t step, int64_t rows,
                               int64_t hidden)
    void rnn_forward_rows_f32(const float *x_proj, const float *h_prev, float *h,
                              const int64_t *lengths, int64_t step, int64_t rows,
                              int64_t hidden, int relu)
    void rnn_forward_rows_f64(const double *x_proj, const double *h_prev, double *h,
                              const int64_t *lengths, int64_t step, int64_t rows,
                              int64_t hidden, int relu)
    void rnn_backward_rows_f32(const float *h, const float *grad_output, float *grad_h,
                               float *grad_gates, const int64_t *lengths, int64_t step,
                               int64_t rows, int64_t hidden, int relu)
    void rnn_backward_rows_f64(const double *h, const double *grad_output, double *grad_h,
                               double *grad_gates, const int64_t *lengths, int64_t step,
                               int64_t rows, int64_t hidden, int relu)


cdef inline void lstm_forward_rows(const floating *x_proj, floating *gates,
                                   const floating *h_prev, const floating *c_prev,
                                   floating *h, floating *c, const int64_t *lengths,
                                   int64_t step, int64_t rows, int64_t hidden) noexcept nogil:
    if floating is float:
        lstm_forward_rows_f32(x_proj, gates, h_prev, c_prev, h, c, lengths, step, rows, hidden)
    else:
        lstm_forward_rows_f64(x_proj, gates, h_prev, c_prev, h, c, lengths, step, rows, hidden)


cdef inline void lstm_backward_rows(const floating *gates, const floating *c_prev,
                                    const floating *c, const floating *grad_output,
                                    floating *grad_h, floating *grad_c, floating *grad_gates,
                                    const int64_t *lengths, int64_t step, int64_t rows,
                                    int64_t hidden) noexcept nogil:
    if floating is float:
        lstm_backward_rows_f32(gates, c_prev, c, grad_output, grad_h, grad_c, grad_gates,
                               lengths, step, rows, hidden)
    else:
        lstm_backward_rows_f64(gates, c_prev, c, grad_output, grad_h, grad_c, grad_gates,
                               lengths, step, rows, hidden)


cdef inline void gru_forward_rows(const floating *x_proj, const floating *h_proj,
                                  const floating *bias_hh, const floating *h_prev,
                                  floating *gates, floating *h, const int64_t *lengths,
                                  int64_t step, int64_t rows, int64_t hidden) noexcept nogil:
    if floating is float:
        gru_forward_rows_f32(x_proj, h_proj, bias_hh, h_prev, gates, h, lengths, step,
                             rows, hidden)
    else:
        gru_forward_rows_f64(x_proj, h_proj, bias_hh, h_prev, gates, h, lengths, step,
                             rows, hidden)


cdef inline void gru_backward_rows(const floating *gates, const floating *h_prev,
                                   const floating *grad_output, floating *grad_h,
                                   floating *grad_x_gates, floating *grad_h_gates,
                                   const int64_t *lengths, int64_t step, int64_t rows,
                                   int64_t hidden) noexcept nogil:
    if floating is float:
        gru_backward_rows_f32(gates, h_prev, grad_output, grad_h, grad_x_gates,
                              grad_h_gates, lengths, step, rows, hidden)
    else:
        gru_backward_rows_f64(gates, h_prev, grad_output, grad_h, grad_x_gates,
                              grad_h_gates, lengths, step, rows, hidden)


cdef inline void rnn_forward_rows(const floating *x_proj, const floating *h_prev,
                                  floating *h, const int64_t *lengths, int64_t step,
                                  int64_t rows, int64_t hidden, bint relu) noexcept nogil:
    if floating is float:
        rnn_forward_rows_f32(x_proj, h_prev, h, lengths, step, rows, hidden, relu)
    else:
        rnn_forward_rows_f64(x_proj, h_prev, h, lengths, step, rows, hidden, relu)


cdef inline void rnn_backward_rows(const floating *h, const floating *grad_output,
                                   floating *grad_h, floating *grad_gates,
                                   const int64_t *lengths, int64_t step, int64_t rows,
                                   int64_t hidden, bint relu) noexcept nogil:
    if floating is float:
        rnn_backward_rows_f32(h, grad_output, grad_h, grad_gates, lengths, step, rows,
                              hidden, relu)
    else:
        rnn_backward_rows_f64(h, grad_output, grad_h, grad_gates, lengths, step, rows,
                              hidden, relu)
