"""U-ViT for video (one file, the paper's terms): every input is a token — the diffusion time, the frame rate, the
prompt's words and the space-time patches of the frames — through in-blocks, a mid-block and out-blocks joined by
long skip connections (concatenate, then Linear), pre-norm attention and MLP. Reference frames are conditioning:
they enter clean, flagged by a mask channel, in the same patches as the frames being generated.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .schedule import alpha_sigma


@dataclass
class UViTConfig:
    frames: int = 16            # F, frames per window
    height: int = 64
    width: int = 112
    channels: int = 3
    patch: tuple = (2, 16, 16)  # (frames, height, width) of one space-time patch
    width_dim: int = 128        # D, the transformer's width
    depth: int = 7              # in-blocks + mid-block + out-blocks (odd)
    heads: int = 4
    mlp_ratio: float = 4.0
    vocab: int = 31
    text_len: int = 24
    # 0: the text input is token ids [B, L] through the U-ViT's own word embedding (vocab). > 0: it is a text
    # encoder's output [B, L, text_dim] (CLIP, T5, a package's text.onnx), projected to the width by a Linear.
    text_dim: int = 0
    context_frames: int = 4
    # What the network's last layer predicts. "x0": the clean frames, turned into the package's v output inside the
    # graph. A patch token of width D cannot carry the full-rank per-pixel noise that eps or v are at low noise levels
    # (measured: a v-predicting 2×16×16 model left its samples noisy), while clean ShapesWorld frames are low-rank,
    # the argument of "Back to Basics: Let Denoising Generative Models Denoise" (Li & He, 2025).
    predict: str = "x0"
    # Hidden width of the patch decoder: 0 is U-ViT's Linear; > 0 an MLP (Linear, GELU, Linear) per patch token, a
    # small renderer that can place a shape's edge anywhere in its patch instead of mixing 1,536 values linearly.
    decoder_hidden: int = 0
    # Predict x0 as the nearest known frame plus the network's output (predict="x0" only): the untrained network
    # holds the last frame of an extend and each side's frame in a fill, and training learns what moves. Footage's
    # frames are mostly what the known frames already show; ShapesWorld's scenes are drawn from the prompt (False).
    known_skip: bool = False

    @property
    def grid(self) -> tuple[int, int, int]:
        pt, ph, pw = self.patch
        return self.frames // pt, self.height // ph, self.width // pw

    @property
    def patch_tokens(self) -> int:
        gt, gh, gw = self.grid
        return gt * gh * gw

    def to_json(self) -> dict:
        d = asdict(self)
        d["patch"] = list(self.patch)
        return d


class MultiHeadAttentionOp(torch.autograd.Function):
    """Attention over [B, L, D] q, k, v. In ONNX it becomes one `com.microsoft::MultiHeadAttention` node, which
    onnxruntime fuses (measured 2–13× faster on WebGPU than MatMul/Softmax); in PyTorch it is plain attention."""

    @staticmethod
    def forward(ctx, q, k, v, heads: int):  # type: ignore[override]
        return _attention(q, k, v, heads)

    @staticmethod
    def symbolic(g, q, k, v, heads: int):
        return g.op("com.microsoft::MultiHeadAttention", q, k, v, num_heads_i=heads).setType(q.type())


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Plain attention; `bias` [B, 1, 1, L] is added to the logits (−1e4 on keys to ignore)."""
    b, l, d = q.shape
    # B L (H Dh) -> B H L Dh
    q, k, v = (x.reshape(b, l, heads, d // heads).transpose(1, 2) for x in (q, k, v))
    logits = q @ k.transpose(-1, -2) / math.sqrt(d // heads)                      # B H L L
    weights = torch.softmax(logits if bias is None else logits + bias, dim=-1)
    return (weights @ v).transpose(1, 2).reshape(b, l, d)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.exporting = False

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # each B L D
        # The fused ONNX node takes no bias: masked attention (latent U-ViT) exports as MatMul/Softmax.
        fused = self.exporting and bias is None
        out = MultiHeadAttentionOp.apply(q, k, v, self.heads) if fused else _attention(q, k, v, self.heads, bias)
        return self.proj(out)


class Block(nn.Module):
    """Pre-norm transformer block; with `skip`, first joins a long skip (concat, Linear) as U-ViT's out-blocks do."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, skip: bool = False):
        super().__init__()
        self.skip_linear = nn.Linear(2 * dim, dim) if skip else None
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> torch.Tensor:
        if self.skip_linear is not None:
            x = self.skip_linear(torch.cat([x, skip], dim=-1))
        x = x + self.attn(self.norm1(x), bias)
        return x + self.mlp(self.norm2(x))


def nearest_known(x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """For every frame of x [B, F, ...], the known frame nearest in time (known [B, F] = 1); two equally near (the
    middle of a gap) are averaged. A soft argmin over |f − g| that exports as plain ONNX ops."""
    f = x.shape[1]
    positions = torch.arange(f, dtype=x.dtype, device=x.device)
    distance = (positions.view(f, 1) - positions.view(1, f)).abs().unsqueeze(0)        # 1 F(target) F(source)
    cost = distance + (1 - known).unsqueeze(1) * 1e4                                     # B F F
    weights = torch.softmax(-8 * cost, dim=-1)
    flat = (x * known.view(*known.shape, *([1] * (x.dim() - 2)))).flatten(2)             # B F (rest)
    return (weights @ flat).view_as(x)


def timestep_embedding(values: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features [B, dim] of scalars [B]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=values.device) / half)
    args = values.float().unsqueeze(-1) * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UViT(nn.Module):
    """x [B, F, C, H, W] (noisy frames; known frames clean), known [B, F], t [B] in [0, 1], fps [B],
    tokens [B, L] (or text embeddings [B, L, text_dim]) → v-prediction [B, F, C, H, W]."""

    def __init__(self, cfg: UViTConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.width_dim
        pt, ph, pw = cfg.patch
        patch_in = (cfg.channels + 1) * pt * ph * pw  # + the known-frame mask channel
        self.patch_embed = nn.Linear(patch_in, d)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.patch_tokens, d))
        self.time_embed = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.fps_embed = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        if cfg.text_dim:
            self.text_proj = nn.Linear(cfg.text_dim, d)
        else:
            self.word_embed = nn.Embedding(cfg.vocab, d)
        self.text_pos = nn.Parameter(torch.zeros(1, cfg.text_len, d))
        half = cfg.depth // 2
        self.in_blocks = nn.ModuleList([Block(d, cfg.heads, cfg.mlp_ratio) for _ in range(half)])
        self.mid_block = Block(d, cfg.heads, cfg.mlp_ratio)
        self.out_blocks = nn.ModuleList([Block(d, cfg.heads, cfg.mlp_ratio, skip=True) for _ in range(half)])
        self.norm = nn.LayerNorm(d)
        patch_out = cfg.channels * pt * ph * pw
        if cfg.decoder_hidden:
            self.decoder_pred = nn.Sequential(nn.Linear(d, cfg.decoder_hidden), nn.GELU(), nn.Linear(cfg.decoder_hidden, patch_out))
        else:
            self.decoder_pred = nn.Sequential(nn.Linear(d, patch_out))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.text_pos, std=0.02)
        # Zero-initialised output (as DiT): the untrained network predicts 0 everywhere, with no patch-edge stripes.
        nn.init.zeros_(self.decoder_pred[-1].weight)
        nn.init.zeros_(self.decoder_pred[-1].bias)

    def set_exporting(self, exporting: bool) -> None:
        for m in self.modules():
            if isinstance(m, Attention):
                m.exporting = exporting

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        b, f, c, h, w = x.shape
        pt, ph, pw = cfg.patch
        gt, gh, gw = f // pt, h // ph, w // pw
        # B (gt pt) C (gh ph) (gw pw) -> B (gt gh gw) (pt ph pw C)
        x = x.reshape(b, gt, pt, c, gh, ph, gw, pw).permute(0, 1, 4, 6, 2, 5, 7, 3)
        return x.reshape(b, gt * gh * gw, pt * ph * pw * c)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        b = x.shape[0]
        pt, ph, pw = cfg.patch
        gt, gh, gw = cfg.grid
        c = cfg.channels
        # B (gt gh gw) (pt ph pw C) -> B (gt pt) C (gh ph) (gw pw)
        x = x.reshape(b, gt, gh, gw, pt, ph, pw, c).permute(0, 1, 4, 7, 2, 5, 3, 6)
        return x.reshape(b, gt * pt, c, gh * ph, gw * pw)

    def forward(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The package's output: v = alpha·eps − sigma·x0 (models/PACKAGE.md)."""
        out = self.network(x, known, t, fps, tokens)
        if self.cfg.predict == "v":
            return out
        alpha, sigma = (s.view(-1, 1, 1, 1, 1) for s in alpha_sigma(t))
        # x0 = alpha·x_t − sigma·v, solved for v; the engine never evaluates t = 0 (sigma = 0).
        return (alpha * x - out) / sigma.clamp(min=1e-4)

    def denoise(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The clean frames x0 the network sees in x_t (exact for predict="x0", no division by sigma)."""
        return self.denoise_with_features(x, known, t, fps, tokens)[0]

    def denoise_with_features(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor,
                              tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x0 as `denoise`, and the patch tokens [B, N, D] the patch decoder read (for training-time probes)."""
        features = self.features(x, known, t, fps, tokens)
        out = self.decode(features)
        if self.cfg.known_skip:
            out = out + nearest_known(x, known)
        if self.cfg.predict == "x0":
            return out, features
        alpha, sigma = (s.view(-1, 1, 1, 1, 1) for s in alpha_sigma(t))
        return alpha * x - sigma * out, features

    def network(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        out = self.decode(self.features(x, known, t, fps, tokens))
        return out + nearest_known(x, known) if self.cfg.known_skip else out

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """Patch tokens [B, N, D] → frames [B, F, C, H, W] (what the network predicts: x0 or v)."""
        return self.unpatchify(self.decoder_pred(features))

    def features(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor, fps: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The out-blocks' patch tokens after the final norm, [B, N, D]."""
        cfg = self.cfg
        b, f, c, h, w = x.shape
        mask = known.view(b, f, 1, 1, 1).expand(b, f, 1, h, w)
        patches = self.patch_embed(self.patchify(torch.cat([x, mask], dim=2))) + self.pos_embed  # B N D
        time_token = self.time_embed(timestep_embedding(t * 1000, cfg.width_dim)).unsqueeze(1)   # B 1 D
        fps_token = self.fps_embed(timestep_embedding(fps * 10, cfg.width_dim)).unsqueeze(1)     # B 1 D
        words = (self.text_proj(tokens) if cfg.text_dim else self.word_embed(tokens)) + self.text_pos  # B L D
        x = torch.cat([time_token, fps_token, words, patches], dim=1)                            # B (2+L+N) D
        skips = []
        for block in self.in_blocks:
            x = block(x)
            skips.append(x)
        x = self.mid_block(x)
        for block in self.out_blocks:
            x = block(x, skips.pop())
        return self.norm(x[:, 2 + cfg.text_len:])                                                # B N D
