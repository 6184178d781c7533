"""Instances read again from unchanged files come from siting.data.recent: same values, own arrays, never stale."""
from __future__ import annotations

import os

import pytest
from conftest import write_csv

import siting.data.load as load_module
from siting.data import recent
from siting.data.load import load_instance
from siting.errors import InputError
from siting.io import write_table_metadata


@pytest.fixture
def reads(monkeypatch):
    """Counts the tables actually read (the cache is emptied first: other tests may have read the same bytes)."""
    recent.forget_instances()
    count = {"n": 0}
    original = load_module.read_table

    def counting(*args, **kwargs):
        count["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(load_module, "read_table", counting)
    yield count
    recent.forget_instances()


def _load(files, **kwargs):
    return load_instance(files["demand"], files["sites"], files["travel"], **kwargs)


def test_unchanged_files_are_read_once_and_every_call_gets_its_own_arrays(files, reads):
    first = _load(files)
    assert reads["n"] == 2  # demand and candidates
    second = _load(files)
    assert reads["n"] == 2
    assert second.sites.ids.tolist() == first.sites.ids.tolist() == ["s1", "s2", "s3"]
    assert second.travel.minutes.tolist() == first.travel.minutes.tolist()
    # a script that edits its instance in place changes neither the next load nor the other instance
    for edited in (first, second):
        edited.sites.cost[0] = -1.0
        edited.demand.groups["elderly"][0] = -1.0
    third = _load(files)
    assert (third.sites.cost[0], third.demand.groups["elderly"][0]) == (10.0, 20.0)
    fourth = _load(files)
    third.travel.minutes[:] = 0.0
    assert fourth.travel.minutes.tolist() == first.travel.minutes.tolist() and min(fourth.travel.minutes) > 0
    # another name is the same tables; another CRS for the x/y is another instance
    named = _load(files, name="other")
    assert reads["n"] == 2 and (named.name, third.name) == ("other", "instance")
    assert _load(files, crs="EPSG:32648").demand.crs == "EPSG:32648"
    assert reads["n"] == 4


def test_a_file_rewritten_with_the_same_size_and_time_is_read_again(files, reads):
    before = _load(files)
    stat = files["sites"].stat()
    text = files["sites"].read_text(encoding="utf-8").replace("s1,10,", "s1,90,")
    files["sites"].write_text(text, encoding="utf-8")
    os.utime(files["sites"], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert files["sites"].stat().st_size == stat.st_size and files["sites"].stat().st_mtime_ns == stat.st_mtime_ns
    after = _load(files)
    assert (before.sites.cost[0], after.sites.cost[0]) == (10.0, 90.0)


def test_the_travel_tables_metadata_sidecar_is_watched(files, reads):
    assert _load(files).travel.cutoff_min is None
    write_table_metadata(files["travel"], {"kind": "travel_times", "cutoff_min": 15.0, "rows": 4})
    assert _load(files).travel.cutoff_min == 15.0


def test_a_failed_load_keeps_nothing(files, reads):
    good = files["sites"].read_text(encoding="utf-8")
    write_csv(files["sites"], good.replace("s2,20,", "s2,abc,"))
    for _ in range(2):  # the error each time, from the file itself
        with pytest.raises(InputError, match="non-numeric cost 'abc'"):
            _load(files)
    assert reads["n"] == 4
    files["sites"].write_text(good, encoding="utf-8")
    assert _load(files).sites.cost.tolist() == [10.0, 0.0, 30.0]  # s2 is existing: nothing to pay


def test_files_above_the_size_limit_are_read_every_time(files, reads, monkeypatch):
    monkeypatch.setattr(recent, "MAX_FILE_BYTES", 10)
    _load(files)
    _load(files)
    assert reads["n"] == 4
