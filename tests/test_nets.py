"""Structures of Appendix D, parameter counts, initialisers and the vector W of §2."""
import math

import pytest
import torch

from mgdl_core.core.nets import (StructureError, flatten_params, format_structure, init_params, mgdl_structure,
                            msdl_network, parameter_count, parse_structure, sgdl_network, unflatten_params)


@pytest.mark.parametrize("preset,count", [("(26)", 3265), ("(27)", 7249), ("(28)", 116097), ("(29)", 182145)])
def test_sgdl_parameter_counts_match_the_paper(preset, count):
    assert parameter_count(parse_structure(preset)) == count
    assert sgdl_network(preset).num_parameters() == count


@pytest.mark.parametrize("preset,counts", [("(30)", [97, 1089, 1089, 1089]), ("(31)", [193, 2401, 2401, 2401]),
                                           ("(32)", [17025, 33153, 33153, 33153]),
                                           ("(33)", [33537, 49665, 49665, 49665])])
def test_mgdl_grade_parameter_counts(preset, counts):
    assert [parameter_count(w) for w in mgdl_structure(preset)] == counts


def test_msdl_structure_and_parameter_count():
    net = msdl_network()
    assert net.scales == (1.0, 2.0, 4.0, 8.0)
    assert net.widths == [(1, 8, 8, 8, 8, 1)] * 4
    assert net.num_parameters() == 964


def test_parse_structure_forms():
    assert parse_structure("[1]->[32]x4->[1]") == (1, 32, 32, 32, 32, 1)
    assert parse_structure("[2] → [48]×2 → [1]") == (2, 48, 48, 1)
    assert format_structure((2, 128, 128, 64, 1)) == "[2]->[128]x2->[64]->[1]"


@pytest.mark.parametrize("bad,part", [("[1]->[32]y4->[1]", "[32]y4"), ("[1]", "at least"), ("[1]->[0]->[1]", "[0]"),
                                      ("[1]x2->[3]->[1]", "input"), ("1->32->1", "'1'"), ("(99)", "(99)")])
def test_malformed_structure_names_the_offending_part(bad, part):
    with pytest.raises(StructureError, match=r".*" + part.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        parse_structure(bad)


def test_mgdl_grades_must_chain():
    with pytest.raises(StructureError, match="grade 2 takes 16 inputs"):
        mgdl_structure(["[1]->[32]->[1]", "[16]->[32]->[1]"])
    with pytest.raises(StructureError, match="unknown MGDL preset"):
        mgdl_structure("(26)")
    # one structure string is a one-grade MGDL; ";" joins grades
    assert mgdl_structure("[1]->[32]->[1]") == [(1, 32, 1)]
    assert mgdl_structure("[1]->[32]->[1]; [32]->[32]->[1]") == [(1, 32, 1), (32, 32, 1)]


def test_vector_w_stacks_columns_in_section_2_order():
    params = init_params((2, 3, 1), seed=0, dtype=torch.float64)
    (w1, b1), (w2, b2) = params
    v = flatten_params(params)
    # W_1 is 2x3: its first column (w1[:, 0]) comes first
    assert torch.equal(v[:2], w1[:, 0]) and torch.equal(v[2:4], w1[:, 1])
    assert torch.equal(v[6:9], b1) and torch.equal(v[9:12], w2[:, 0]) and torch.equal(v[12:], b2)
    back = unflatten_params(v, (2, 3, 1))
    assert all(torch.equal(a, b) for p, q in zip(params, back) for a, b in zip(p, q))
    net = sgdl_network("[2]->[3]->[1]", dtype=torch.float64)
    assert torch.equal(net.with_vector(net.vector()).vector(), net.vector())
    with pytest.raises(ValueError):
        unflatten_params(v[:-1], (2, 3, 1))


def test_initialisers_follow_the_authors_code():
    he = init_params((64, 4096, 1), "he", seed=1, dtype=torch.float64)
    # sample std of n draws: relative spread 1/√(2n) ≈ 1.4e-3 (n = 262,144), 1.0e-3 (n = 524,288) and
    # 0.016 (the 2,048 biases); the bounds are 14σ, 20σ and 6σ, the draws are seeded
    assert he[0][0].std().item() == pytest.approx(math.sqrt(2 / 64), rel=0.02)
    assert torch.count_nonzero(he[0][1]) == 0
    gl = init_params((256, 2048, 1), "glorot", seed=1, dtype=torch.float64)
    w = gl[0][0]
    assert w.std().item() == pytest.approx(math.sqrt(2 / (256 + 2048)), rel=0.02)
    # truncated at ±2σ: t·(s/c) with |t| ≤ 2 against 2s/c, a few roundings apart
    assert w.abs().max().item() <= 2 * math.sqrt(2 / (256 + 2048)) / 0.87962566103423978 * (1 + 1e-15)
    assert gl[0][1].std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.equal(init_params((1, 8, 1), seed=5)[0][0], init_params((1, 8, 1), seed=5)[0][0])
    assert not torch.equal(init_params((1, 8, 1), seed=5)[0][0], init_params((1, 8, 1), seed=6)[0][0])
    with pytest.raises(ValueError, match="init scheme"):
        init_params((1, 2, 1), "xavier")
