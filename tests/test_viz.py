"""Pictures of the graph: nk.viz.to_dot (DOT text), nk.viz.render (Graphviz files),
Var.graph_summary (text tree) and the one-line repr."""

from __future__ import annotations

import re
import shutil

import pytest

import neuronika as nk
from neuronika import nn


def _parse(dot: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str | None]]]:
    """The vertices (id -> attributes) and edges (source, target, label) of DOT text written by
    to_dot: one statement per line."""
    vertices: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, str | None]] = []
    for line in dot.splitlines():
        edge = re.fullmatch(r'\s*(n\d+) -> (n\d+)(?: \[label="([^"]*)"\])?;', line)
        if edge:
            edges.append((edge[1], edge[2], edge[3]))
            continue
        vertex = re.fullmatch(r"\s*(n\d+) \[(.*)\];", line)
        if vertex:
            attributes = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)', vertex[2]))
            vertices[vertex[1]] = {key: value.strip('"') for key, value in attributes.items()}
    return vertices, edges


def _by_title(vertices: dict[str, dict[str, str]]) -> dict[str, str]:
    return {attributes["label"].split("\\n")[0]: name for name, attributes in vertices.items()}


def test_to_dot_has_one_vertex_per_node_and_one_edge_per_input(device):
    x = nk.ones((4, 3), device=device)
    w = nk.ones((2, 3), device=device).requires_grad()
    b = nk.zeros(2, device=device).requires_grad()
    loss = (x.mm_t(w) + b).relu().sum()
    dot = nk.viz.to_dot(loss, names={"x": x, "w": w, "b": b})
    assert dot.startswith("digraph neuronika {") and dot.rstrip().endswith("}")
    vertices, edges = _parse(dot)
    titles = _by_title(vertices)
    assert set(titles) == {"x", "w", "b", "mm_t", "add", "relu", "sum"}
    expected = {("x", "mm_t", "0"), ("w", "mm_t", "1"), ("mm_t", "add", "0"), ("b", "add", "1"), ("relu", "sum", None), ("add", "relu", None)}
    names = {value: key for key, value in titles.items()}
    assert {(names[s], names[t], label) for s, t, label in edges} == expected


def test_to_dot_labels_show_shape_dtype_device_and_mark_differentiable_nodes(device):
    x = nk.ones((4, 3), dtype="float64", device=device)
    w = nk.ones((3, 2), dtype="float64", device=device).requires_grad()
    vertices, _ = _parse(nk.viz.to_dot(x.mm(w).sum() + x.sum()))
    by_title = {attributes["label"].split("\\n")[0]: attributes for attributes in vertices.values()}
    device_name = str(x.device)
    assert by_title["mm"]["label"] == f"mm\\n(4, 2) float64 {device_name}"
    assert by_title["parameter"]["label"] == f"parameter\\n(3, 2) float64 {device_name}"
    assert by_title["input"]["label"] == f"input\\n(4, 3) float64 {device_name}"
    assert by_title["mm"]["tooltip"] == "op ∂" and by_title["parameter"]["tooltip"] == "parameter ∂"
    assert by_title["input"]["tooltip"] == "input"
    # differentiable ops and parameters are filled in their colours, constants grey
    assert by_title["mm"]["fillcolor"] == "#dbe9f6" and by_title["parameter"]["fillcolor"] == "#fde2c4"
    assert by_title["input"]["fillcolor"] == "#eeeeee"
    sums = [a for a in vertices.values() if a["label"].startswith("sum")]
    assert sorted(a["tooltip"] for a in sums) == ["op", "op ∂"]  # x.sum() is not differentiable
    root = [a for a in vertices.values() if a.get("peripheries") == "2"]
    assert len(root) == 1 and root[0]["label"].startswith("add\\n()")


def test_to_dot_names_parameters_after_the_module_attributes(device):
    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(3, 4, device=device)
            self.out = nn.Linear(4, 1, bias=False, device=device)

        def forward(self, input: nk.Var) -> nk.VarDiff:
            return self.out(self.hidden(input).tanh())

    model = MLP()
    vertices, _ = _parse(nk.viz.to_dot(model(nk.ones((2, 3), device=device)).sum(), module=model))
    titles = set(_by_title(vertices))
    assert {"hidden.weight", "hidden.bias", "out.weight"} <= titles
    assert "parameter" not in titles  # every parameter has its module name


def test_a_node_used_twice_is_one_vertex_with_two_edges(device):
    x = nk.ones(3, device=device).requires_grad()
    vertices, edges = _parse(nk.viz.to_dot(x * x))
    assert len(vertices) == 2
    assert sorted(label for _, _, label in edges) == ["0", "1"]
    assert len({source for source, _, _ in edges}) == 1


def test_to_dot_escapes_quotes_in_names(device):
    x = nk.ones(2, device=device)
    dot = nk.viz.to_dot(x.exp(), names={'say "hi"\\': x})
    assert 'label="say \\"hi\\"\\\\\\n(2,)' in dot


def test_viz_rejects_what_is_not_a_variable():
    with pytest.raises(TypeError, match="to_dot: expected a neuronika variable"):
        nk.viz.to_dot([1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"names\['x'\] must be a neuronika variable"):
        nk.viz.to_dot(nk.ones(2), names={"x": 3.0})  # type: ignore[dict-item]


def test_graph_summary_prints_the_tree_root_first_and_shared_nodes_once(device):
    x = nk.ones((2, 3), device=device)
    w = nk.ones((3, 1), device=device).requires_grad()
    h = x.mm(w)
    text = (h * h).sum().graph_summary(names={"x": x, "w": w})
    where = str(x.device)
    assert text.splitlines() == [
        f"sum () float32 {where} ∂",
        f"└── mul (2, 1) float32 {where} ∂",
        f"    ├── #1 mm (2, 1) float32 {where} ∂",
        f"    │   ├── x (2, 3) float32 {where}",
        f"    │   └── w (3, 1) float32 {where} ∂ parameter",
        "    └── (see #1)",
    ]


def test_graph_summary_of_a_deep_graph_does_not_recurse(device):
    x = nk.ones(1, device=device)
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y + 1.0
    lines = y.graph_summary().splitlines()
    assert len(lines) == 6001 and lines[0].startswith("add ")


def test_repr_is_one_line_with_kind_op_shape_dtype_device(device):
    w = nk.ones((2, 2), dtype="float64", device=device).requires_grad()
    where = str(w.device)
    y = w * 2.0
    assert repr(y) == f"VarDiff(mul, shape=(2, 2), dtype=float64, device={where}, not computed)"
    y.forward()
    assert repr(y) == f"VarDiff(mul, shape=(2, 2), dtype=float64, device={where}, data=[[2. 2.] [2. 2.]])"
    big = nk.zeros((3, 3), device=device)
    assert repr(big) == f"Var(leaf, shape=(3, 3), dtype=float32, device={where}, computed)"
    assert str(big) == repr(big) and "\n" not in repr(big)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_render_writes_the_picture(tmp_path, device, suffix, magic):
    w = nk.ones((2, 3), device=device).requires_grad()
    path = nk.viz.render(w.relu().sum(), tmp_path / f"graph{suffix}", names={"w": w})
    content = (tmp_path / f"graph{suffix}").read_bytes()
    assert path.endswith(suffix) and magic in content[:400]
    if suffix == ".svg":
        assert b"relu" in content and b"(2, 3)" in content


def test_render_without_graphviz_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(nk.viz, "_dot_program", lambda: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz.*nk.viz.to_dot"):
        nk.viz.render(nk.ones(2).exp(), tmp_path / "graph.svg")


def test_render_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        nk.viz.render(nk.ones(2).exp(), tmp_path / "graph.txt")
