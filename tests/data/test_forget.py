from __future__ import annotations

import json

import pytest
import torch

from lightning_unlearn.data import ForgetSpec, ForgetSplit, forget_hash, make_split

TARGETS = torch.arange(10).repeat_interleave(10)  # 100 samples, 10 classes


def test_class_split_takes_every_sample_of_the_class():
    split = make_split(ForgetSpec(classes=[3]), TARGETS, 10)
    assert split.forget.tolist() == list(range(30, 40))
    assert split.retain.numel() == 90
    assert split.forget_classes == (3,)
    assert set(split.forget.tolist()).isdisjoint(split.retain.tolist())


@pytest.mark.parametrize("spec", [ForgetSpec(fraction=0.1, seed=3), ForgetSpec(count=7, seed=3)])
def test_random_split_is_a_pure_function_of_spec_and_seed(spec):
    a = make_split(spec, TARGETS, 10)
    b = make_split(spec, TARGETS, 10)
    assert torch.equal(a.forget, b.forget) and a.sha256 == b.sha256
    other = make_split(ForgetSpec(count=a.forget.numel(), seed=4), TARGETS, 10)
    assert other.sha256 != a.sha256
    assert a.forget.numel() == (10 if spec.fraction else 7)
    assert torch.equal(a.forget, a.forget.sort().values)


def test_hash_is_sha256_of_sorted_comma_joined_indices():
    import hashlib

    assert forget_hash([5, 1, 3]) == hashlib.sha256(b"1,3,5").hexdigest()


def test_explicit_indices_inline_and_from_file(tmp_path):
    inline = make_split(ForgetSpec(indices=[9, 2, 4]), TARGETS, 10)
    assert inline.forget.tolist() == [2, 4, 9]
    as_json = tmp_path / "f.json"
    as_json.write_text(json.dumps([4, 9, 2]))
    as_text = tmp_path / "f.txt"
    as_text.write_text("4\n9, 2\n")
    for path in (as_json, as_text):
        assert make_split(ForgetSpec(indices_file=str(path)), TARGETS, 10).sha256 == inline.sha256


def test_split_round_trips_through_its_file(tmp_path):
    split = make_split(ForgetSpec(fraction=0.2, seed=1), TARGETS, 10, "toy", "abc")
    split.save(tmp_path / "split.json")
    loaded = ForgetSplit.load(tmp_path / "split.json")
    assert torch.equal(loaded.forget, split.forget) and torch.equal(loaded.retain, split.retain)
    assert loaded.sha256 == split.sha256 and loaded.dataset_fingerprint == "abc"


def test_tampered_split_file_is_refused(tmp_path):
    split = make_split(ForgetSpec(indices=[1, 2]), TARGETS, 10)
    path = tmp_path / "split.json"
    split.save(path)
    record = json.loads(path.read_text())
    record["forget"] = [1, 3]
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="does not match"):
        ForgetSplit.load(path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (dict(indices=[0, 100]), r"must lie in \[0, 100\), got \[100\]"),
        (dict(indices=[-1]), r"must lie in \[0, 100\)"),
        (dict(indices=[4, 4, 5]), r"distinct, repeated: \[4\]"),
        (dict(indices=list(range(100))), "whole training set"),
        (dict(classes=list(range(10))), "whole training set"),
        (dict(classes=[10]), r"unknown \[10\]"),
        (dict(count=100), "must be smaller than the training set"),
    ],
)
def test_bad_forget_sets_are_refused_with_a_clear_message(spec, message):
    with pytest.raises(ValueError, match=message):
        make_split(ForgetSpec(**spec), TARGETS, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(), "exactly one of"),
        (dict(classes=[1], count=3), "exactly one of"),
        (dict(classes=[]), "classes is empty"),
        (dict(indices=[]), "indices is empty"),
        (dict(fraction=0.0), r"fraction must lie in \(0, 1\)"),
        (dict(fraction=1.0), r"fraction must lie in \(0, 1\)"),
        (dict(count=0), "count must be at least 1"),
    ],
)
def test_bad_specs_are_refused_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ForgetSpec(**kwargs)


def test_missing_indices_file_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="indices_file not found"):
        ForgetSpec(indices_file=str(tmp_path / "nope.txt"))


def test_empty_class_is_refused():
    targets = torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="no training samples"):
        make_split(ForgetSpec(classes=[2]), targets, 3)


def test_holdout_is_set_aside_before_the_forget_set_is_drawn():
    split = make_split(ForgetSpec(fraction=0.1, seed=0), TARGETS, 10, holdout_fraction=0.2, holdout_seed=1)
    assert split.holdout.numel() == 20 and split.forget.numel() == 10 and split.retain.numel() == 70
    parts = [set(split.holdout.tolist()), set(split.forget.tolist()), set(split.retain.tolist())]
    assert set.union(*parts) == set(range(100)) and sum(map(len, parts)) == 100
    classwise = make_split(ForgetSpec(classes=[3]), TARGETS, 10, holdout_fraction=0.2, holdout_seed=1)
    assert not set(classwise.forget.tolist()) & set(classwise.holdout.tolist())
    assert set(classwise.forget.tolist()) | {i for i in classwise.holdout.tolist() if 30 <= i < 40} == set(
        range(30, 40)
    )
    with pytest.raises(ValueError, match="lie in the holdout set"):
        make_split(ForgetSpec(indices=split.holdout[:2].tolist()), TARGETS, 10, holdout_fraction=0.2, holdout_seed=1)


def test_split_with_holdout_round_trips(tmp_path):
    split = make_split(ForgetSpec(count=5, seed=2), TARGETS, 10, holdout_fraction=0.1)
    split.save(tmp_path / "s.json")
    loaded = ForgetSplit.load(tmp_path / "s.json")
    assert torch.equal(loaded.holdout, split.holdout) and torch.equal(loaded.retain, split.retain)


def test_subclass_split_takes_the_subclass_and_keeps_its_class():
    targets = torch.tensor([0, 0, 0, 1, 1, 1])
    subclasses = torch.tensor([0, 1, 1, 2, 3, 2])
    split = make_split(ForgetSpec(subclasses=[1]), targets, 2, subclasses=subclasses, num_subclasses=4)
    assert split.forget.tolist() == [1, 2] and split.forget_subclasses == (1,) and split.forget_classes == ()
    assert set(targets[split.retain].tolist()) == {0, 1}
    with pytest.raises(ValueError, match="need a data source with subclasses"):
        make_split(ForgetSpec(subclasses=[1]), targets, 2)
    with pytest.raises(ValueError, match=r"unknown \[7\]"):
        make_split(ForgetSpec(subclasses=[7]), targets, 2, subclasses=subclasses, num_subclasses=4)


def test_subclass_split_round_trips(tmp_path):
    targets, subclasses = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 2, 3])
    split = make_split(ForgetSpec(subclasses=[3]), targets, 2, subclasses=subclasses, num_subclasses=4)
    split.save(tmp_path / "split.json")
    assert ForgetSplit.load(tmp_path / "split.json").forget_subclasses == (3,)


def test_validation_set_is_drawn_after_the_holdout_and_leaves_it_unchanged():
    plain = make_split(ForgetSpec(fraction=0.1, seed=0), TARGETS, 10, holdout_fraction=0.2, holdout_seed=1)
    split = make_split(
        ForgetSpec(fraction=0.1, seed=0), TARGETS, 10, holdout_fraction=0.2, holdout_seed=1, validation_fraction=0.3
    )
    assert torch.equal(split.holdout, plain.holdout)  # adding a validation set moves no holdout sample
    assert split.validation.numel() == 30 and split.forget.numel() == 10 and split.retain.numel() == 40
    parts = [set(t.tolist()) for t in (split.holdout, split.validation, split.forget, split.retain)]
    assert set.union(*parts) == set(range(100)) and sum(map(len, parts)) == 100
    only_validation = make_split(ForgetSpec(classes=[3]), TARGETS, 10, validation_fraction=0.2)
    assert only_validation.holdout.numel() == 0 and only_validation.validation.numel() == 20
    assert not set(only_validation.forget.tolist()) & set(only_validation.validation.tolist())
    with pytest.raises(ValueError, match="must stay below 1"):
        make_split(ForgetSpec(count=1), TARGETS, 10, holdout_fraction=0.5, validation_fraction=0.5)
    with pytest.raises(ValueError, match=r"validation_fraction must lie in \[0, 1\)"):
        make_split(ForgetSpec(count=1), TARGETS, 10, validation_fraction=-0.1)


def test_split_with_validation_round_trips(tmp_path):
    split = make_split(ForgetSpec(count=5, seed=2), TARGETS, 10, holdout_fraction=0.1, validation_fraction=0.2)
    split.save(tmp_path / "s.json")
    loaded = ForgetSplit.load(tmp_path / "s.json")
    assert torch.equal(loaded.validation, split.validation) and torch.equal(loaded.retain, split.retain)
