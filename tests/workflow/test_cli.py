"""The workflow commands through `siting` (argparse), with --quiet and --no-dask; errors are one line, exit 2."""
from __future__ import annotations

import pandas as pd

from siting.cli import main


def test_sweep_compare_rank_report_commands(example, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["sweep", str(example / "mclp.toml"), "--budgets", "1M", "2e6", "4000000", "--out", str(out),
                 "--no-dask", "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet: nothing printed
    t = pd.read_csv(out / "sweep.csv")
    assert list(t["budget"]) == [1e6, 2e6, 4e6] and (out / "sweep.png").is_file()
    assert main(["rank", str(example / "mclp.toml"), "--budgets", "1M", "2e6", "--out", str(out), "--no-dask"]) == 0
    printed = capsys.readouterr().out
    assert "idle buildings ranked" in printed and "rank.csv" in printed
    assert main(["compare", str(example / "mclp.toml"), str(example / "partial.toml"), "--out", str(out),
                 "--no-dask", "--quiet"]) == 0
    assert (out / "compare.csv").is_file()
    assert main(["report", str(example / "mclp.toml"), "--out", str(out), "--quiet"]) == 0
    html = (out / "report" / "report.html").read_text()
    for section in ("Coverage vs budget", "Idle buildings ranked", "Scenarios compared"):
        assert section in html


def test_bad_input_is_one_line_and_exit_code_2(example, tmp_path, capsys):
    cases = [
        (["sweep", str(example / "mclp.toml"), "--budgets", "0", "--no-dask"], "key '--budgets': budgets must be positive"),
        (["sweep", str(example / "mclp.toml"), "--budgets", "ten", "--no-dask"], "budget 'ten' is not a number"),
        (["sweep", str(tmp_path / "missing.toml"), "--budgets", "1M"], "missing.toml: file not found"),
        (["sweep", str(example / "mclp.toml"), "--no-dask"], "key 'sweep.budgets': no budgets"),
        (["rank", str(example / "mclp.toml"), "--resolve-top", "-1", "--no-dask"], "key '--resolve-top'"),
        (["sweep", str(example / "mclp.toml"), "--budgets", "1M", "--workers", "0"], "key '--workers'"),
    ]
    for argv, message in cases:
        assert main([*argv, "--out", str(tmp_path / "o")]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err, (argv, err)
    bad = example / "bad.toml"
    bad.write_text((example / "mclp.toml").read_text().replace("[model]", "[model]\nbudjet = 5"))
    assert main(["sweep", str(bad), "--budgets", "1M", "--no-dask", "--out", str(tmp_path / "o")]) == 2
    assert "bad.toml: key 'model.budjet': unknown key (did you mean 'budget'?)" in capsys.readouterr().err
    bad.write_text((example / "mclp.toml").read_text() + "\n[output]\nfolder = 'x'\n")
    assert main(["compare", str(bad), "--no-dask", "--out", str(tmp_path / "o")]) == 2
    assert "bad.toml: key 'output.folder': unknown key" in capsys.readouterr().err
