"""A tiny Transformer whose layer norms sit after or before each residual sublayer.

Xiong et al. (2020), "On Layer Normalization in the Transformer Architecture", compare the two places
a Transformer layer can put its normalization (their Figure 1):

    post-LN (Vaswani et al., 2017):  x = LN(x + Attention(x));   x = LN(x + FFN(x))
    pre-LN:                          x = x + Attention(LN(x));   x = x + FFN(LN(x)),  LN once more at the end

`TransformerBlock` uses the submodule names of `torch.nn.TransformerEncoderLayer` (`self_attn`,
`linear1`, `linear2`, `norm1`, `norm2`; `norm_position="pre"` is torch's `norm_first=True`) and, given
the same weights, computes what that layer computes with dropout 0 and a ReLU; the tests check it.
Unlike torch's layer, the norm can also be RMS norm (Zhang and Sennrich, 2019).

The weights are initialized with Xavier's uniform scheme and the biases with zeros, the usual choice
for Transformers (fairseq's, for one). torch's default `nn.Linear` initialization draws smaller
weights, so each sublayer adds so little to the residual stream that both placements look alike at
initialization.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnviz.nn.norms import LayerNorm, RMSNorm
from lnviz.validation import positive_int

__all__ = ["BLOCK_NORMS", "NORM_POSITIONS", "TinyTransformer", "TransformerBlock", "causal_mask", "make_norm"]

NORM_POSITIONS: tuple[str, ...] = ("post", "pre")
BLOCK_NORMS: tuple[str, ...] = ("layer", "rms")


def make_norm(norm: str, d_model: int) -> nn.Module:
    """A fresh normalization layer over the last dim: lnviz.LayerNorm ("layer") or lnviz.RMSNorm ("rms")."""
    if norm == "layer":
        return LayerNorm(d_model)
    if norm == "rms":
        return RMSNorm(d_model)
    raise ValueError(f"norm must be one of {BLOCK_NORMS}, got {norm!r}")


def causal_mask(seq_len: int) -> Tensor:
    """(seq_len, seq_len) additive attention mask: -inf above the diagonal, so a position sees only its past."""
    return torch.full((seq_len, seq_len), float("-inf")).triu(1)


class TransformerBlock(nn.Module):
    """One Transformer layer: multi-head self-attention, then a ReLU feed-forward net, each sublayer
    with a residual connection and a normalization placed after it ("post") or before it ("pre").

    x: (batch, seq, d_model) -> (batch, seq, d_model).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        norm_position: str = "post",
        norm: str = "layer",
    ) -> None:
        super().__init__()
        d_model = positive_int(d_model, "d_model", "TransformerBlock")
        n_heads = positive_int(n_heads, "n_heads", "TransformerBlock")
        d_ff = positive_int(d_ff, "d_ff", "TransformerBlock")
        if d_model % n_heads:
            raise ValueError(
                f"TransformerBlock expected d_model divisible by n_heads, got d_model={d_model}, n_heads={n_heads}"
            )
        if norm_position not in NORM_POSITIONS:
            raise ValueError(f"TransformerBlock expected norm_position in {NORM_POSITIONS}, got {norm_position!r}")
        self.norm_position = norm_position
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = make_norm(norm, d_model)
        self.norm2 = make_norm(norm, d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weight matrices, zero biases, norms at gain 1 (and bias 0)."""
        for module in (self.linear1, self.linear2, self.self_attn.out_proj):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
        nn.init.xavier_uniform_(self.self_attn.in_proj_weight)
        nn.init.zeros_(self.self_attn.in_proj_bias)
        self.norm1.reset_parameters()
        self.norm2.reset_parameters()

    def attention(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """The self-attention sublayer. x: (batch, seq, d_model) -> same shape."""
        return self.self_attn(x, x, x, attn_mask=attn_mask, need_weights=False)[0]

    def feed_forward(self, x: Tensor) -> Tensor:
        """The feed-forward sublayer, FFN(x) = W2 ReLU(W1 x + b1) + b2. x: (..., d_model) -> same shape."""
        return self.linear2(F.relu(self.linear1(x)))

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """x: (batch, seq, d_model); attn_mask: (seq, seq) additive, or None. Returns x's shape."""
        if self.norm_position == "pre":
            # Xiong et al., Figure 1 (b): the residual stream itself is never normalized
            x = x + self.attention(self.norm1(x), attn_mask)
            return x + self.feed_forward(self.norm2(x))
        # Figure 1 (a): every sublayer's sum is normalized, so the stream is renormalized twice per layer
        x = self.norm1(x + self.attention(x, attn_mask))
        return self.norm2(x + self.feed_forward(x))


class TinyTransformer(nn.Module):
    """A decoder-only language model: token embedding, `n_layers` blocks with a causal mask, and a
    linear read-out to the vocabulary. Pre-LN adds a final normalization before the read-out, as in
    Xiong et al.; post-LN needs none, its last block ends with one. No positional encoding: at
    initialization the gradients are what is studied here, and the causal mask already tells
    positions apart.

    tokens: (batch, seq) int64 in [0, vocab_size) -> logits (batch, seq, vocab_size).
    """

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        n_heads: int,
        d_ff: int,
        vocab_size: int,
        norm_position: str = "post",
        norm: str = "layer",
    ) -> None:
        super().__init__()
        n_layers = positive_int(n_layers, "n_layers", "TinyTransformer")
        vocab_size = positive_int(vocab_size, "vocab_size", "TinyTransformer")
        self.norm_position = norm_position
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, d_ff, norm_position, norm) for _ in range(n_layers)
        )
        self.final_norm = make_norm(norm, d_model) if norm_position == "pre" else None
        self.readout = nn.Linear(d_model, vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens: (batch, seq) -> logits (batch, seq, vocab_size)."""
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(
                f"TinyTransformer expected tokens of shape (batch, seq) and dtype int64, got "
                f"shape {tuple(tokens.shape)} and dtype {tokens.dtype}"
            )
        mask = causal_mask(tokens.shape[1])
        x = self.embedding(tokens)
        for block in self.blocks:
            x = block(x, mask)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return self.readout(x)
