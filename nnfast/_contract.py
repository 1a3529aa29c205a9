"""The kernel contract: every kernel's name and argument names, in order.

Both kernel sets, ``nnfast._kernels`` (compiled) and ``nnfast.reference``
(NumPy), export exactly these names from these lists, with these argument
names (``tests/kernels/test_contract.py`` checks both against this table),
so a layer can call either one. Plain Python: importing it needs no
compiled module.

Vocabulary: ``x`` a forward's input, ``out`` its output, ``grad_output``
the gradient with respect to ``out``, ``grad_input`` with respect to ``x``
(None where the caller needs none), ``n_samples`` the batch size;
geometry as ``kernel_size``, ``stride``, ``dilation`` (one int per spatial
axis) and ``padding`` (one (before, after) pair per spatial axis).
"""
import importlib

KERNELS = {
    # BLAS
    "gemm": ("a", "b", "out", "trans_a", "trans_b", "alpha", "beta"),
    # fully connected
    "linear_forward": ("x", "weight", "bias", "out", "relu"),
    "linear_backward": ("x", "weight", "grad_output", "grad_input", "grad_weight",
                        "grad_bias", "accumulate"),
    # convolution
    "im2col": ("image", "kernel_size", "stride", "padding", "dilation", "col"),
    "col2im": ("col", "kernel_size", "stride", "padding", "dilation", "image"),
    "conv2d_workspace_size": ("weight_shape", "out_shape", "dtype"),
    "conv2d_im2col_forward": ("x", "weight", "bias", "stride", "padding", "dilation",
                              "out", "workspace", "relu"),
    "conv2d_im2col_backward": ("x", "weight", "grad_output", "stride", "padding",
                               "dilation", "grad_input", "grad_weight", "grad_bias",
                               "workspace"),
    "conv2d_direct_forward": ("x", "weight", "bias", "stride", "padding", "dilation",
                              "out", "relu"),
    "conv2d_direct_backward": ("x", "weight", "grad_output", "stride", "padding",
                               "dilation", "grad_input", "grad_weight", "grad_bias"),
    # transposed convolution (its backward is conv2d_im2col_forward/backward's)
    "conv_transpose2d_forward": ("x", "weight", "bias", "stride", "padding", "dilation",
                                 "out", "workspace"),
    # batch normalization, over (n_samples, channels, spatial) views
    "batchnorm_stats": ("x", "mean", "var"),
    "batchnorm_forward": ("x", "mean", "invstd", "weight", "bias", "out", "relu"),
    "batchnorm_backward": ("x", "mean", "invstd", "weight", "grad_output", "grad_input",
                           "grad_weight", "grad_bias", "batch_stats", "accumulate", "bias",
                           "relu"),
    # pooling
    "maxpool2d_forward": ("x", "kernel_size", "stride", "padding", "out", "argmax"),
    "maxpool2d_backward": ("grad_output", "argmax", "grad_input", "pooled"),
    "avgpool2d_forward": ("x", "kernel_size", "stride", "padding", "out"),
    "avgpool2d_backward": ("grad_output", "kernel_size", "stride", "padding",
                           "grad_input"),
    # global average pooling: (n, c, h, w) <-> (n, c, 1, 1)
    "global_avgpool2d_forward": ("x", "out"),
    "global_avgpool2d_backward": ("grad_output", "grad_input"),
    # upsampling: scale_factor the (h, w) scales the output sizes came from
    # (torch computes the source coordinates from them, not from the sizes)
    "upsample2d_nearest_forward": ("x", "scale_factor", "out"),
    "upsample2d_nearest_backward": ("grad_output", "scale_factor", "grad_input"),
    "upsample2d_bilinear_forward": ("x", "scale_factor", "align_corners", "out"),
    "upsample2d_bilinear_backward": ("grad_output", "scale_factor", "align_corners",
                                     "grad_input"),
    # activations
    # joins (Concat, Add, SkipConnection), on (rows, width) views
    "concat_forward": ("x", "offset", "out"),
    "add_forward": ("a", "b", "relu", "out"),
    "relu_forward": ("x", "out"),
    "relu_backward": ("out", "grad_output", "grad_input"),
    "leaky_relu_forward": ("x", "negative_slope", "out"),
    "leaky_relu_backward": ("x", "grad_output", "negative_slope", "grad_input"),
    "prelu_forward": ("x", "weight", "out"),
    "prelu_backward": ("x", "weight", "grad_output", "grad_input", "grad_weight"),
    "sigmoid_forward": ("x", "out"),
    "sigmoid_backward": ("out", "grad_output", "grad_input"),
    "tanh_forward": ("x", "out"),
    "tanh_backward": ("out", "grad_output", "grad_input"),
    "softmax_forward": ("x", "out"),
    "softmax_backward": ("out", "grad_output", "grad_input"),
    "log_softmax_forward": ("x", "out"),
    "log_softmax_backward": ("out", "grad_output", "grad_input"),
    "cumulative_softmax_forward": ("x", "probs", "out"),
    "cumulative_softmax_backward": ("probs", "grad_output", "grad_input"),
    "dropout_forward": ("x", "mask", "scale", "out"),
    "dropout_backward": ("grad_output", "mask", "scale", "grad_input"),
    # batches: rows of a data set by index (the training loops' shuffled batches)
    "gather_rows": ("x", "index", "out"),
    # recurrent layers: a whole sequence's recurrence per call (rows with
    # step >= lengths[n] are past their sequence's end and keep their state);
    # states (n_steps + 1, n_samples, hidden) with the initial state at [0]
    "lstm_sequence_forward": ("x", "weight_ih", "bias", "weight_hh", "lengths", "gates", "h",
                              "c"),
    "lstm_sequence_backward": ("gates", "c", "grad_output", "weight_hh", "lengths", "grad_h",
                               "grad_c", "grad_gates"),
    "gru_sequence_forward": ("x_proj", "weight_hh", "bias_hh", "lengths", "gates", "h"),
    "gru_sequence_backward": ("gates", "h", "grad_output", "weight_hh", "lengths", "grad_h",
                              "grad_x_gates", "grad_h_gates"),
    "rnn_sequence_forward": ("x_proj", "weight_hh", "lengths", "h", "relu"),
    "rnn_sequence_backward": ("h", "grad_output", "weight_hh", "lengths", "grad_h",
                              "grad_gates", "relu"),
    # ... and the layer's parameter and input gradients from every step's
    # gate gradients at once (rows = n_steps * n_samples)
    "recurrent_weights_backward": ("x", "h", "grad_x_gates", "grad_h_gates", "weight_ih",
                                   "grad_input", "grad_weight_ih", "grad_weight_hh",
                                   "grad_bias_ih", "grad_bias_hh"),
    # losses: forward returns the loss (and fills its saved state), backward
    # writes the gradient with respect to the prediction into grad_input
    "cross_entropy_forward": ("x", "labels", "weight", "prob"),
    "cross_entropy_backward": ("prob", "labels", "weight", "scale", "grad_input"),
    "nll_forward": ("log_prob", "labels", "weight"),
    "nll_backward": ("log_prob", "labels", "weight", "scale", "grad_input"),
    "mse_forward": ("pred", "target"),
    "mse_backward": ("pred", "target", "scale", "grad_input"),
    "bce_forward": ("prob", "target"),
    "bce_backward": ("prob", "target", "scale", "grad_input"),
    "bce_with_logits_forward": ("x", "target"),
    "bce_with_logits_backward": ("x", "target", "scale", "grad_input"),
    "dice_forward": ("prob", "target", "smooth", "sums"),
    "dice_backward": ("target", "sums", "scale", "grad_input"),
    "hinge_forward": ("x", "labels", "margin"),
    "hinge_backward": ("x", "labels", "margin", "scale", "grad_input"),
    # optimizers: in-place updates of value and its state
    "sgd_update": ("value", "grad", "momentum_buf", "lr", "momentum", "dampening",
                   "nesterov", "weight_decay", "l1", "first_step"),
    "adam_update": ("value", "grad", "exp_avg", "exp_avg_sq", "step", "lr", "beta1",
                    "beta2", "eps", "weight_decay", "l1"),
    "adagrad_update": ("value", "grad", "state_sum", "step", "lr", "lr_decay",
                       "weight_decay", "eps", "l1"),
    "rmsprop_update": ("value", "grad", "square_avg", "momentum_buf", "grad_avg", "lr",
                       "alpha", "eps", "weight_decay", "momentum", "centered", "l1"),
}


# The modules of both packages that define the kernels: a twin module
# beside each kernel module, of the same name (helpers of either package,
# such as _kernels._loss_call, stay out of this list).
MODULES = ("gemm", "linear", "_conv_plan", "conv_im2col", "conv_direct", "conv_transpose",
           "pooling", "global_pool", "upsample", "merge", "activations", "softmax", "dropout",
           "gather", "losses_labels", "losses_elementwise", "losses_dice",
           "optim_sgd", "optim_adaptive", "batchnorm", "recurrent", "recurrent_weights")


def collect(package, modules=MODULES):
    """{name: function} for every name in KERNELS, taken from the modules
    ``package.<module>``: each name must be defined by exactly one of them.

    Raises ImportError naming what is missing or defined twice, so a
    backend that drifts from the contract fails at import, not at a call.
    """
    found = {}
    for module in modules:
        mod = importlib.import_module(f"{package}.{module}")
        for name in KERNELS:
            if hasattr(mod, name):
                if name in found and found[name] is not getattr(mod, name):
                    raise ImportError(f"{package}: kernel {name!r} is defined in two "
                                      f"modules ({found[name].__module__} and {module})")
                found[name] = getattr(mod, name)
    missing = sorted(set(KERNELS) - set(found))
    if missing:
        raise ImportError(f"{package} lacks the kernels {missing}")
    return found
