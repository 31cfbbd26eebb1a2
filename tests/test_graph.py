"""weaksup.graph.LabelGraph: cliques, separators, statistics groups, triplet partners."""

import numpy as np
import pytest

from weaksup.graph import Clique, LabelGraph


def test_independent_star():
    g = LabelGraph(4)
    assert g.independent and g.n_lfs == 4 and g.n_tasks == 1
    assert g.cliques == [Clique((i,), (0,)) for i in range(4)]
    assert g.separator_edges == {Clique((), (0,)): 3}  # the star's centre, once per edge
    assert g.groups == []
    assert g.lf_task.tolist() == [0, 0, 0, 0]


def test_triplet_partners_of_an_independent_lf():
    pairs = LabelGraph(4).triplet_partners((0,), 0)
    expected = np.zeros((4, 4), dtype=bool)
    for j, k in [(1, 2), (1, 3), (2, 3)]:
        expected[j, k] = True
    np.testing.assert_array_equal(pairs, expected)


def test_dependent_lfs_form_one_clique_and_need_joint_tables():
    g = LabelGraph(5, lambda_edges=[(0, 1)])
    assert not g.independent
    assert Clique((0, 1), (0,)) in g.cliques
    assert not g.separated((0,), (1,), 0)
    assert g.separated((0, 1), (2,), 0)
    # the clique plus every possible triplet partner is counted jointly
    assert g.groups == [(0, 1, 2), (0, 1, 3), (0, 1, 4)]


def test_chain_of_tasks():
    g = LabelGraph(6, v=3, y_edges=[(0, 1), (1, 2)], lambda_y_edges=[(i, i // 2) for i in range(6)])
    assert Clique((), (0, 1)) in g.cliques and Clique((), (1, 2)) in g.cliques
    # Y_1 separates the two task cliques and its two LFs' cliques: three junction-tree edges
    assert g.separator_edges[Clique((), (1,))] == 3
    assert g.lf_task.tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(m=2), ValueError, "at least 3 labeling functions"),
        (dict(m=3.0), TypeError, "m must be an int"),
        (dict(m=4, v=0), ValueError, "v must be an int >= 1"),
        (dict(m=4, lambda_edges=[(0, 0)]), ValueError, "cannot join a node to itself"),
        (dict(m=4, lambda_edges=[(0, "a")]), ValueError, "lambda_edges must be a list of"),
        (dict(m=4, lambda_edges=[(0, 4)]), ValueError, "LF indices run 0..3"),
        (dict(m=3, lambda_edges=[(0, 1)]), ValueError, "no triplet"),
        (dict(m=4, v=2), ValueError, "not connected to task 0"),
    ],
)
def test_bad_graphs_are_refused_with_the_reason(kwargs, error, match):
    with pytest.raises(error, match=match):
        LabelGraph(**kwargs)


def test_upstream_names():
    assert Clique((2, 0), (1,)).upstream_names() == ("Y_1", "lambda_0", "lambda_2")


def test_graphs_that_need_pgmpy_say_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pgmpy", None)
    monkeypatch.setitem(sys.modules, "pgmpy.models", None)
    LabelGraph(4)  # the independent star needs no pgmpy
    with pytest.raises(ImportError, match=r"pip install 'weaksup\[graphs\]'"):
        LabelGraph(5, lambda_edges=[(0, 1)])
    from weaksup.compat import patch_pgmpy

    with pytest.raises(ImportError, match="weaksup.graphs"):
        patch_pgmpy()
