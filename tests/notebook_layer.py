"""The notebook's convolutional layer as tensorgrad expressions, for the tests that build
the notebook's network op by op (the example script has the same layer for its users)."""
import tensorgrad as tg


def conv_layer(X, K, B):
    """Y_i = B_i + Σ_j correlate2d(X_j, K_ij, "valid"): X (n, H, W), K (d, n, k, k),
    B (d, H-k+1, W-k+1) -> (d, H-k+1, W-k+1)."""
    d, n = K.shape[:2]
    channels = [X[j] for j in range(n)]
    outputs = []
    for i in range(d):
        y = B[i]
        for j in range(n):
            y = y + tg.correlate2d(channels[j], K[i, j], "valid")
        outputs.append(y)
    return tg.stack(outputs)
