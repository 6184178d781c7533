"""``siting --version`` prints the installed distribution's version."""
from importlib.metadata import version

import pytest

from siting.cli import main


def test_version_is_the_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"siting {version('siting')}"
