"""tensorgrad: reverse-mode automatic differentiation on NumPy and SciPy, built for seeing
and checking gradients. The public names of API.md, re-exported; nothing is defined here."""
from .autograd import enable_grad, grad, is_grad_enabled, no_grad
from .errors import BackwardError, GradcheckError, ShapeError
from .gradcheck import gradcheck, gradgradcheck
from .ops import (
    abs, add, binary_cross_entropy, binary_cross_entropy_with_logits, broadcast_to, cast, clip,
    concatenate, convolve2d, correlate2d, cross_entropy, divide, equal, exp, expand_dims, flatten,
    getitem, greater, greater_equal, less, less_equal, log, log_softmax, logical_and, logical_not,
    logical_or, logsumexp, matmul, max, maximum, mean, min, minimum, mse_loss, multiply, negative,
    not_equal, power, relu, reshape, sigmoid, sign, softmax, sqrt, stack, subtract, sum,
    sum_to_shape, swapaxes, tanh, transpose, where,
)
from .registry import OPS, Op, primitive
from .tensor import Tensor, tensor

__version__ = "0.1.0"

__all__ = [
    "BackwardError", "GradcheckError", "OPS", "Op", "ShapeError", "Tensor", "abs", "add",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "broadcast_to", "cast", "clip",
    "concatenate", "convolve2d", "correlate2d", "cross_entropy", "divide", "enable_grad",
    "equal", "exp", "expand_dims", "flatten", "getitem", "grad", "gradcheck", "gradgradcheck",
    "greater", "greater_equal", "is_grad_enabled", "less", "less_equal", "log", "log_softmax",
    "logical_and", "logical_not", "logical_or", "logsumexp", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mse_loss", "multiply", "negative", "no_grad", "not_equal", "power",
    "primitive", "relu", "reshape", "sigmoid", "sign", "softmax", "sqrt", "stack", "subtract",
    "sum", "sum_to_shape", "swapaxes", "tanh", "tensor", "transpose", "where",
]
