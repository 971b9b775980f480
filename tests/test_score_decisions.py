"""Identity decisions: argmax over a classifier's declared classes, nearest gallery embedding by
cosine otherwise, and the rule chosen from what the model declares."""
import numpy as np
import pytest

from benchmark.score.decisions import DecisionError, choose_rule, decide_argmax, decide_gallery


def test_argmax_maps_classes_to_identities_and_scores_candidates():
    classes = [7, 3, 5, 9]  # class k is identity classes[k]
    logits = np.array([[0.1, 2.0, 0.3, 0.0], [5.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 9.0]])
    d = decide_argmax(logits, classes, identities=[3, 5, 7])
    assert d.rule == "argmax" and d.identities.tolist() == [3, 5, 7]
    assert d.decision.tolist() == [3, 7, 9]  # the top class may be a non-probe identity
    assert d.scores.tolist() == [[2.0, 0.3, 0.1], [0.0, 1.0, 5.0], [0.0, 0.0, 0.0]]
    assert d.response(np.array([3, 7, 5])).tolist() == [2.0, 5.0, 0.0]
    with pytest.raises(DecisionError, match="not among the candidates"):
        d.response(np.array([9, 9, 9]))
    with pytest.raises(DecisionError, match="expected"):
        decide_argmax(logits[:, :3], classes, [3])


def test_gallery_is_nearest_by_cosine_with_averaged_gallery_rows():
    g = np.array([[1.0, 0.0], [3.0, 0.2], [0.0, 1.0]])
    gid = [4, 4, 8]
    e = np.array([[10.0, 1.0], [0.1, 2.0], [1.0, 1.1]])
    d = decide_gallery(e, g, gid)
    assert d.identities.tolist() == [4, 8] and d.decision.tolist() == [4, 8, 8]
    centre = g[:2].mean(0) / np.linalg.norm(g[:2].mean(0))
    assert d.scores[0, 0] == pytest.approx(e[0] @ centre / np.linalg.norm(e[0]))
    with pytest.raises(DecisionError, match="all zeros"):
        decide_gallery(np.zeros((1, 2)), g, gid)


def test_rule_follows_the_declaration():
    assert choose_rule("auto", "logits", (0, 1, 2), [0, 2]) == "argmax"
    assert choose_rule("auto", "logits", (0, 1), [0, 2]) == "gallery"  # trained on other identities
    assert choose_rule("auto", "embedding", None, [0]) == "gallery"
    assert choose_rule("gallery", "logits", (0, 1), [0]) == "gallery"
    with pytest.raises(DecisionError, match="lacks identities \\[2\\]"):
        choose_rule("argmax", "logits", (0, 1), [0, 2])
    with pytest.raises(DecisionError, match="allowed"):
        choose_rule("vote", "logits", (0,), [0])
