"""Scaled dot-product attention, MultiheadAttention, TransformerEncoderLayer and
TransformerEncoder against PyTorch with copied weights: outputs, attention weights, input
gradients, every parameter gradient, masks, eval behaviour and state-dict loading, on every
backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
import neuronika.nn.functional as F
from neuronika import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def leaf(array, device: str) -> nk.VarDiff:
    return nk.from_ndarray(np.asarray(array, dtype=np.float64), dtype="float64", device=device).requires_grad()


def host(var) -> np.ndarray:
    return var._node.backend.to_host(var.grad)


def copy_weights(theirs, ours) -> None:
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys


def compare_parameters(theirs, ours, rtol: float = 1e-9) -> None:
    mine = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(host(mine[name].var), parameter.grad.numpy(), rtol=rtol, atol=1e-11, err_msg=name)


def backward_both(ours, theirs, rng):
    seed = rng.standard_normal(tuple(theirs.shape))
    np.testing.assert_allclose(ours.forward().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-11)
    theirs.backward(torch.tensor(seed))
    ours.backward(seed)


# --- scaled_dot_product_attention ------------------------------------------------------------------
def attention_mask(kind: str, rng, shape=(5, 6)):
    if kind == "bool":
        mask = rng.random(shape) < 0.6
        mask[:, 0] = True  # every query keeps at least one key
        return mask
    if kind == "float":
        return rng.standard_normal(shape)
    return None


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "scaled"])
def test_scaled_dot_product_attention_matches_torch(device, rng, kind):
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 6, 4)), rng.standard_normal((2, 3, 6, 7))
    mask = attention_mask(kind, rng)
    options = {"is_causal": kind == "causal", "scale": 0.3 if kind == "scaled" else None}
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    expected = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=None if mask is None else torch.tensor(mask), **options)
    oq, ok, ov = (leaf(a, device) for a in (q, k, v))
    ours = F.scaled_dot_product_attention(oq, ok, ov, attn_mask=mask, **options)
    assert ours.shape == (2, 3, 5, 7)
    backward_both(ours, expected, rng)
    for mine, reference in ((oq, tq), (ok, tk), (ov, tv)):
        np.testing.assert_allclose(host(mine), reference.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_attention_dropout_follows_eval(device, rng):
    q = leaf(rng.standard_normal((2, 4, 3)), device)
    dropped = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    plain = F.scaled_dot_product_attention(q, q, q)
    dropped.eval()
    np.testing.assert_allclose(dropped.forward().numpy(), plain.forward().numpy(), rtol=1e-12)
    dropped.train()
    assert not np.allclose(dropped.forward().numpy(), plain.forward().numpy())


def test_attention_errors_at_build_time(device):
    q = nk.zeros((2, 4, 3), device=device)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 4), bool), is_causal=True)
    with pytest.raises(ValueError, match="same E"):
        F.scaled_dot_product_attention(q, nk.zeros((2, 4, 5), device=device), q)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)


# --- MultiheadAttention ------------------------------------------------------------------------
MHA_CASES = {
    "self": dict(),
    "self_batch_first": dict(batch_first=True),
    "cross_no_bias": dict(cross=True, bias=False),
    "key_padding": dict(padding=True),
    "bool_attn_mask": dict(attn_mask="bool"),
    "float_3d_mask_per_head": dict(attn_mask="float3d", average=False, batch_first=True),
    "causal_and_padding": dict(attn_mask="causal", padding=True),
}


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention_matches_torch(device, rng, case):
    options = MHA_CASES[case]
    batch_first, cross = options.get("batch_first", False), options.get("cross", False)
    E, H, N, L = 8, 2, 3, 5
    S = 6 if cross else L
    theirs = torch.nn.MultiheadAttention(E, H, bias=options.get("bias", True), batch_first=batch_first, dtype=torch.float64)
    ours = nn.MultiheadAttention(E, H, bias=options.get("bias", True), batch_first=batch_first, dtype="float64", device=device)
    copy_weights(theirs, ours)
    layout = (lambda n, t: (n, t, E)) if batch_first else (lambda n, t: (t, n, E))
    query = rng.standard_normal(layout(N, L))
    tq = torch.tensor(query, requires_grad=True)
    oq = leaf(query, device)
    if cross:
        key, value = rng.standard_normal(layout(N, S)), rng.standard_normal(layout(N, S))
        tk, tv = torch.tensor(key, requires_grad=True), torch.tensor(value, requires_grad=True)
        ok, ov = leaf(key, device), leaf(value, device)
    else:
        tk = tv = tq
        ok = ov = oq
    masks: dict = {}
    if options.get("padding"):
        padding = np.zeros((N, S), bool)
        padding[0, -2:] = True
        padding[2, 1] = True
        masks["key_padding_mask"] = padding
    kind = options.get("attn_mask")
    if kind == "bool":
        masks["attn_mask"] = ~attention_mask("bool", rng, (L, S))  # True = not attended, as torch's module
    elif kind == "float3d":
        masks["attn_mask"] = rng.standard_normal((N * H, L, S))
    elif kind == "causal":
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    average = options.get("average", True)
    expected, expected_weights = theirs(tq, tk, tv, average_attn_weights=average, **{k: torch.tensor(v) for k, v in masks.items()})
    output, weights = ours(oq, ok, ov, average_attn_weights=average, **masks)
    np.testing.assert_allclose(weights.forward().numpy(), expected_weights.detach().numpy(), rtol=1e-9, atol=1e-12)
    total = (output * output).sum() + (weights * weights).sum()
    reference = (expected * expected).sum() + (expected_weights * expected_weights).sum()
    backward_both(total, reference, rng)
    for mine, their in ((oq, tq), (ok, tk), (ov, tv)) if cross else ((oq, tq),):
        np.testing.assert_allclose(host(mine), their.grad.numpy(), rtol=1e-9, atol=1e-11)
    compare_parameters(theirs, ours)


def test_multihead_attention_unbatched_and_without_weights(device, rng):
    theirs = torch.nn.MultiheadAttention(4, 2, dtype=torch.float64)
    ours = nn.MultiheadAttention(4, 2, dtype="float64", device=device)
    copy_weights(theirs, ours)
    x = rng.standard_normal((3, 4))
    expected, expected_weights = theirs(*(torch.tensor(x),) * 3)
    output, weights = ours(*(leaf(x, device),) * 3)
    assert output.shape == (3, 4) and weights.shape == (3, 3)
    np.testing.assert_allclose(output.forward().numpy(), expected.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(weights.forward().numpy(), expected_weights.detach().numpy(), rtol=1e-9)
    assert ours(*(leaf(x, device),) * 3, need_weights=False)[1] is None


def test_multihead_attention_parameters_follow_torch_names_and_init(device):
    ours = nn.MultiheadAttention(8, 2, device=device)
    theirs = torch.nn.MultiheadAttention(8, 2)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert np.all(ours.in_proj_bias.numpy() == 0) and np.all(ours.out_proj.bias.numpy() == 0)
    assert np.abs(ours.in_proj_weight.numpy()).max() <= np.sqrt(6 / 32)


# --- TransformerEncoderLayer / TransformerEncoder --------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_transformer_encoder_layer_matches_torch(device, rng, norm_first, activation, batch_first):
    E, N, S = 8, 3, 5
    kwargs = dict(dim_feedforward=16, dropout=0.0, activation=activation, batch_first=batch_first, norm_first=norm_first)
    theirs = torch.nn.TransformerEncoderLayer(E, 2, dtype=torch.float64, **kwargs)
    ours = nn.TransformerEncoderLayer(E, 2, dtype="float64", device=device, **kwargs)
    copy_weights(theirs, ours)
    src = rng.standard_normal((N, S, E) if batch_first else (S, N, E))
    padding = np.zeros((N, S), bool)
    padding[1, -1] = True
    mask = np.triu(np.full((S, S), -np.inf), 1)
    ts = torch.tensor(src, requires_grad=True)
    expected = theirs(ts, src_mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(padding))
    os_ = leaf(src, device)
    output = ours(os_, src_mask=mask, src_key_padding_mask=padding)
    backward_both(output, expected, rng)
    np.testing.assert_allclose(host(os_), ts.grad.numpy(), rtol=1e-9, atol=1e-11)
    compare_parameters(theirs, ours)


def test_transformer_encoder_loads_a_torch_state_dict_and_matches_in_eval(device, rng, tmp_path):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, dtype=torch.float64)
    theirs = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64), enable_nested_tensor=False)
    ours = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, dtype="float64", device=device), 2,
        norm=nn.LayerNorm(8, dtype="float64", device=device),
    )
    copy_weights(theirs, ours)
    theirs.eval()
    ours.eval()
    src = rng.standard_normal((5, 3, 8))
    padding = np.zeros((3, 5), bool)
    padding[0, 3:] = True
    with torch.no_grad():
        expected = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(padding)).numpy()
    output = ours(leaf(src, device), src_key_padding_mask=padding)
    np.testing.assert_allclose(output.forward().numpy(), expected, rtol=1e-9, atol=1e-11)
    ours.train()  # dropout is back: the same graph now differs from the eval result
    assert not np.allclose(output.forward().numpy(), expected)
    nk.save(ours.state_dict(), tmp_path / "encoder.npz")
    again = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.1, dtype="float64", device=device), 2,
                                  norm=nn.LayerNorm(8, dtype="float64", device=device))
    copy = again.load_state_dict(nk.load(tmp_path / "encoder.npz"))
    assert not copy.missing_keys
    again.eval()
    np.testing.assert_allclose(again(leaf(src, device), src_key_padding_mask=padding).forward().numpy(), expected, rtol=1e-9, atol=1e-11)


def test_transformer_encoder_layers_are_independent_deep_copies(device):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, device=device)
    encoder = nn.TransformerEncoder(layer, 3)
    weights = [block.linear1.weight for block in encoder.layers]
    assert len({id(w._node) for w in weights} | {id(layer.linear1.weight._node)}) == 4
    for weight in weights:
        np.testing.assert_array_equal(weight.numpy(), layer.linear1.weight.numpy())
        assert weight.device == layer.linear1.weight.device
    assert len(encoder.parameters()) == 3 * len(layer.parameters())


def test_masks_given_as_nested_lists_of_bools_stay_bool(device, rng):
    q = leaf(rng.standard_normal((1, 3, 4)), device)
    keep = [[True, False, False], [True, True, False], [True, True, True]]
    from_lists = F.scaled_dot_product_attention(q, q, q, attn_mask=keep)
    from_array = F.scaled_dot_product_attention(q, q, q, attn_mask=np.array(keep))
    np.testing.assert_allclose(from_lists.forward().numpy(), from_array.forward().numpy(), rtol=1e-12)
    causal = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    np.testing.assert_allclose(from_lists.numpy(), causal.forward().numpy(), rtol=1e-12)


def test_multihead_attention_dropout_follows_eval_and_masks_follow_assign(device, rng):
    theirs = torch.nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True, dtype=torch.float64).eval()
    ours = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True, dtype="float64", device=device)
    copy_weights(theirs, ours)
    x = rng.standard_normal((2, 4, 8))
    padding = nk.from_ndarray(np.zeros((2, 4), bool), device=device)
    output, weights = ours(*(leaf(x, device),) * 3, key_padding_mask=padding)  # built once, in training mode
    ours.eval()  # reaches the dropout of the graph already built
    for mask in (np.zeros((2, 4), bool), np.array([[False, False, True, True], [False, True, False, True]])):
        padding.assign(mask)
        with torch.no_grad():
            expected, expected_weights = theirs(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(mask))
        np.testing.assert_allclose(output.forward().numpy(), expected.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(weights.forward().numpy(), expected_weights.numpy(), rtol=1e-9, atol=1e-12)
    ours.train()
    assert not np.allclose(output.forward().numpy(), expected.numpy())
