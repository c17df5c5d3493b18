"""Builds models/testdata/text-encoder/tiny-text/: a package whose prompt goes through a standard Hugging Face
tokenizer.json (WordPiece, written here: no hub) and a CLIP-style text-encoder graph (text.onnx) into a U-ViT that
reads text embeddings (UViTConfig.text_dim). Trained briefly, end to end, on screens of one colour, so the engine's
tests can tell the prompt reached the frames. Each graph is verified in
onnxruntime-node against PyTorch, as every export is (models/core/package_export.py).

  /usr/bin/python3 models/testdata/text-encoder/make_package.py   (about a minute on two cores; deterministic)
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from models.core.schedule import COSINE_S, T_MAX, alpha_sigma  # noqa: E402
from models.core.package_export import file_entries, uvit_io, verify  # noqa: E402
from models.core.uvit import Block, UViT, UViTConfig  # noqa: E402

OUT = HERE / "tiny-text"
TEXT_LEN = 8       # L: [CLS], up to six word pieces, [SEP], padding
TEXT_DIM = 24      # D: the encoder's width, unlike the U-ViT's 32 (the U-ViT projects it)
COLOURS = {"red": (1, -1, -1), "green": (-1, 1, -1), "blue": (-1, -1, 1), "white": (1, 1, 1)}
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
WORDS = ["a", "the", *COLOURS, "screen", "frame", "fades", "in", "out", "stays", "still", "slowly", "dark", "##ish", "##er", ",", "."]


def tokenizer_json() -> dict:
    """A BERT-style WordPiece tokenizer.json as Python's `tokenizers` saves one (padding and truncation included)."""
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
             for i, t in enumerate(SPECIALS)]
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": TEXT_LEN, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": TEXT_LEN}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0,
                    "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
    }


def encode_with_engine_tokenizer(prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention masks [N, L] of prompts, from the engine's own tokenizer code (daemon/engine/tokenizer.ts
    through @huggingface/tokenizers), so training sees exactly what the engine feeds: no second tokenizer here."""
    script = (
        # tokenizer.ts bundled by esbuild (the project's build tool) and loaded as a module.
        "const { outputFiles } = require('esbuild').buildSync({ entryPoints: ['daemon/engine/tokenizer.ts'], bundle: true,"
        " platform: 'node', format: 'cjs', write: false });"
        "const m = new module.constructor(); m.paths = module.paths; m._compile(outputFiles[0].text, 'tokenizer.cjs');"
        "const [dir, max, prompts] = [process.argv[1], Number(process.argv[2]), JSON.parse(process.argv[3])];"
        "m.exports.HuggingFaceTokenizer.load(dir, 'tokenizer.json', max).then((t) => console.log(JSON.stringify(prompts.map((p) => {"
        " const e = t.encode(p); return [Array.from(e.ids, Number), Array.from(e.attentionMask, Number)]; }))));"
    )
    result = subprocess.run(["node", "-e", script, str(OUT), str(TEXT_LEN), json.dumps(prompts)], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    rows = json.loads(result.stdout)
    return torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])


class TextEncoder(nn.Module):
    """CLIP's text transformer in small: token and position embeddings, pre-norm blocks with causal attention that
    ignores padding, a final LayerNorm; the last hidden state [B, L, D] is the text the U-ViT reads."""

    def __init__(self, vocab: int, length: int, dim: int, depth: int, heads: int):
        super().__init__()
        self.token_embed = nn.Embedding(vocab, dim)
        self.pos_embed = nn.Parameter(torch.randn(1, length, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, 4.0) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.register_buffer("causal", torch.triu(torch.full((length, length), -1e4), 1).view(1, 1, length, length))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        bias = self.causal + (1 - attention_mask.float()).view(-1, 1, 1, input_ids.shape[1]) * -1e4   # B 1 L L
        x = self.token_embed(input_ids) + self.pos_embed
        for block in self.blocks:
            x = block(x, bias=bias)
        return self.norm(x)


class TextToVideo(nn.Module):
    """The two graphs trained as one: prompt ids → text embeddings → the U-ViT."""

    def __init__(self, encoder: TextEncoder, uvit: UViT):
        super().__init__()
        self.encoder, self.uvit = encoder, uvit


def export_text_encoder(encoder: TextEncoder, ids: torch.Tensor, mask: torch.Tensor, path: Path) -> None:
    """ids, attention mask [B, L] int64 → text [B, L, D], opset 17, batch dynamic."""
    with torch.no_grad():
        torch.onnx.export(encoder, (ids, mask), str(path), input_names=["input_ids", "attention_mask"], output_names=["text"],
                          dynamic_axes={n: {0: "B"} for n in ("input_ids", "attention_mask", "text")}, opset_version=17)


def clips(colours: list[str], frames: int, height: int, width: int) -> torch.Tensor:
    """[N, F, 3, H, W] in [-1, 1]: each colour's screen."""
    rgb = torch.tensor([COLOURS[c] for c in colours], dtype=torch.float32)
    return rgb.view(-1, 1, 3, 1, 1).expand(-1, frames, 3, height, width)


def train(model: TextToVideo, steps: int, seed: int) -> None:
    cfg = model.uvit.cfg
    g = torch.Generator().manual_seed(seed)
    colours = [c for c in COLOURS for _ in range(4)]
    texts = [f"{article} {c} {noun}" for c in COLOURS for article in ("a", "the") for noun in ("screen", "frame")]
    ids, mask = encode_with_engine_tokenizer(texts + [""])
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    batch = 24
    for step in range(steps):
        pick = torch.randint(len(texts), (batch,), generator=g)
        x0 = clips([colours[i] for i in pick], cfg.frames, cfg.height, cfg.width)
        dropped = torch.rand(batch, generator=g) < 0.15           # the empty prompt, for classifier-free guidance
        row = torch.where(dropped, torch.full_like(pick, len(texts)), pick)
        text = model.encoder(ids[row], mask[row])
        t = torch.rand(batch, generator=g) * T_MAX
        alpha, sigma = (v.view(batch, 1, 1, 1, 1) for v in alpha_sigma(t))
        known = torch.zeros(batch, cfg.frames)
        known[torch.rand(batch, generator=g) < 0.5, : cfg.context_frames] = 1   # half extend their first frames
        k = known.view(batch, -1, 1, 1, 1)
        x_t = (alpha * x0 + sigma * torch.randn(x0.shape, generator=g)) * (1 - k) + x0 * k
        pred = model.uvit.denoise(x_t, known, t, torch.full((batch,), 24.0), text)
        weight = torch.clamp((alpha / sigma.clamp(min=1e-4)) ** 2, max=5) + 1
        loss = (((pred - x0) ** 2) * weight * (1 - k)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 100 == 0 or step == steps - 1:
            print(json.dumps({"event": "train", "step": step, "loss": round(loss.item(), 4)}), flush=True)


def main() -> None:
    torch.manual_seed(7)
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        stale.unlink()
    (OUT / "tokenizer.json").write_text(json.dumps(tokenizer_json(), indent=1) + "\n")
    cfg = UViTConfig(frames=8, height=16, width=32, patch=(2, 8, 8), width_dim=32, depth=3, heads=2, text_len=TEXT_LEN,
                     text_dim=TEXT_DIM, context_frames=2)
    model = TextToVideo(TextEncoder(len(SPECIALS) + len(WORDS), TEXT_LEN, TEXT_DIM, depth=2, heads=2), UViT(cfg))
    train(model, steps=800, seed=7)
    model.eval()
    encoder, uvit = model.encoder, model.uvit

    # Graphs: text.onnx (ids, mask → embeddings) and uvit.onnx (its text input the embeddings), batch dynamic.
    ids, mask = encode_with_engine_tokenizer(["a red screen fades in", ""])
    uvit_names = ["x", "known", "t", "fps", "text"]
    export_text_encoder(encoder, ids, mask, OUT / "text.onnx")
    # Another width, for the engine's refusal of a package whose text encoder does not fit its U-ViT (not in the package).
    export_text_encoder(TextEncoder(len(SPECIALS) + len(WORDS), TEXT_LEN, 16, depth=1, heads=2).eval(), ids, mask, HERE / "text-width-16.onnx")
    with torch.no_grad():
        text = encoder(ids, mask)
        g = torch.Generator().manual_seed(1)
        x = torch.randn(2, cfg.frames, 3, cfg.height, cfg.width, generator=g)
        known = torch.zeros(2, cfg.frames)
        known[:, : cfg.context_frames] = 1
        example = (x, known, torch.tensor([0.9, 0.3]), torch.tensor([24.0, 30.0]), text)
        uvit.set_exporting(True)
        torch.onnx.export(uvit, example, str(OUT / "uvit.onnx"), input_names=uvit_names, output_names=["v"],
                          dynamic_axes={n: {0: "B"} for n in uvit_names + ["v"]}, opset_version=17,
                          custom_opsets={"com.microsoft": 1}, do_constant_folding=True)
        uvit.set_exporting(False)
        expected_v = uvit(*example)

    shape = ["B", cfg.frames, 3, cfg.height, cfg.width]
    io = uvit_io(cfg.frames, shape, TEXT_LEN)
    io["inputs"]["text"] = {"name": "text", "dtype": "float32", "shape": ["B", TEXT_LEN, TEXT_DIM]}
    io["tokenizer"] = {"type": "huggingface", "file": "tokenizer.json", "max_length": TEXT_LEN}
    io["text_encoder"] = {"file": "text.onnx", "input": "input_ids", "attention_mask": "attention_mask", "output": "text"}
    params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    manifest = {
        "format": "longshot-model/1", "name": "tiny-text", "version": "0.0.1",
        "description": "Tiny U-ViT with a WordPiece tokenizer.json and a CLIP-style text encoder, for tests: screens of the colour named",
        "domain": "test-colours", "jobs": ["broll", "extend", "fill"],
        "architecture": {"type": "uvit-video", "width": cfg.width_dim, "depth": cfg.depth, "heads": cfg.heads, "patch": list(cfg.patch),
                         "params": params(uvit), "text_encoder": {"type": "clip-style", "width": TEXT_DIM, "depth": 2, "params": params(encoder)}},
        "space": "pixel", "native": {"width": cfg.width, "height": cfg.height}, "channels": 3,
        "frames_per_window": cfg.frames, "context_frames": cfg.context_frames, "fps_range": [6, 60], "value_range": [-1, 1],
        "schedule": {"type": "cosine", "s": COSINE_S, "t_min": 0.0, "t_max": T_MAX}, "prediction": "v",
        "defaults": {"steps": 8, "guidance": 3.0, "sampler": "dpmpp-2m"},
        **io,
        "files": file_entries(OUT),
    }
    (OUT / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    verify(OUT, "text.onnx", {"input_ids": ids, "attention_mask": mask}, "text", text)
    verify(OUT, "uvit.onnx", dict(zip(uvit_names, example)), "v", expected_v)
    print(json.dumps({"event": "exported", "out": str(OUT), "bytes": sum(p.stat().st_size for p in OUT.iterdir())}))


if __name__ == "__main__":
    main()
