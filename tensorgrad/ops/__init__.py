"""Every primitive and composite op, by family."""
from ..functional import (  # noqa: F401,E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
    softmax,
)
from .conv import avg_pool2d, conv2d, conv_transpose2d, max_pool2d  # noqa: F401
from .elementwise import (  # noqa: F401
    abs,
    add,
    cast,
    clip,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    relu,
    sigmoid,
    sign,
    sqrt,
    subtract,
    tanh,
    where,
)
from .linalg import linear, matmul  # noqa: F401
from .loss import (  # noqa: F401
    binary_cross_entropy_elementwise,
    binary_cross_entropy_with_logits_elementwise,
)
from .reduce import logsumexp, max, mean, min, sum  # noqa: F401
from .shape import (  # noqa: F401
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    index_add,
    reshape,
    stack,
    sum_to_shape,
    swapaxes,
    transpose,
)
from .signal import convolve2d, correlate2d  # noqa: F401
