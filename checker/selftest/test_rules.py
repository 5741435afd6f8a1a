"""The rule table (checker/rules.py) is the single source of the rule numbers: the README's
numbered contract is generated from it, and every number the programs and the model use is
in it."""

from __future__ import annotations

import re

import pytest

import rules
from model import Action, Model
from support import ROOT


def test_readme_section_is_generated_from_the_table() -> None:
    text = (ROOT / "README.md").read_text()
    assert rules.readme_section(text) == rules.markdown(), \
        "README.md is stale: run /usr/bin/python3 checker/rules.py --write"


def test_numbers_are_consecutive_and_names_unique() -> None:
    assert [r.number for r in rules.RULES] == list(range(1, len(rules.RULES) + 1))
    assert len({r.name for r in rules.RULES}) == len(rules.RULES)


def test_layout_profile_adds_only_header_rules() -> None:
    default = rules.profile_rules(rules.DEFAULT)
    layout = rules.profile_rules(rules.LAYOUT)
    assert [r.number for r in layout if r not in default] == [22, 23, 24]
    with pytest.raises(ValueError, match="unknown profile"):
        rules.profile_rules("strict")


def test_program_tags_name_rules_of_the_table() -> None:
    tags = {int(n) for path in (ROOT / "tests").glob("*.[ch]")
            for n in re.findall(r"\[rule (\d+)\]", path.read_text())}
    assert tags and tags <= set(rules.BY_NUMBER), tags
    header_tags = {int(n) for n in re.findall(r"\[rule (\d+)\]",
                                              (ROOT / "tests" / "common.h").read_text())}
    assert {22, 23, 24} <= header_tags


def test_model_decisions_carry_numbers_from_the_table() -> None:
    model = Model()
    model.step("os_malloc", ("100",))
    model.step("os_realloc", ("HeapStart + 0x20", "200000"))
    assert [(d.rule, d.action) for d in model.decisions] == [
        (5, Action.CLASSIFY), (16, Action.REALLOC_TO_MAPPED), (4, Action.MMAP)]
    assert rules.label(16) == "rule 16 (realloc to mmap)"
